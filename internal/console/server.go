package console

import (
	"context"
	"embed"
	"errors"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

//go:embed web
var webFS embed.FS

// Cookie names.
const (
	sessionCookie = "berth_console"
	loginCookie   = "berth_console_login" // double-submit CSRF token of the login form
)

// Config configures a console.
type Config struct {
	Ports Ports
	// Users may log in with their passwords; nil: only the token.
	Users Users
	// Token, when set, logs in once (as user "token").
	Token string
	// AnonymousRead lets a browser without a session read the pages and
	// the live streams (read-only: every action still needs a login).
	AnonymousRead bool
	// SessionTTL is how long a session lasts; 0: 12 hours.
	SessionTTL time.Duration
	// Poll is how often the live streams look for changes while someone
	// watches; 0: one second. One poll serves every open stream.
	Poll time.Duration
	Log  *slog.Logger
}

// Server is the console's HTTP handler.
type Server struct {
	cfg      Config
	sessions *sessions
	limiter  *loginLimiter
	token    *oneTimeToken
	tmpl     *template.Template
	hub      *hub
	stats    *statsHub
	reports  reports
	mux      *http.ServeMux
}

// New returns the console's handler.
func New(cfg Config) (*Server, error) {
	p := cfg.Ports
	if (p.Stacks == nil) != (p.Deploys == nil) || (p.Stacks == nil) != (p.Logs == nil) {
		return nil, errors.New("console: the stacks, deploys and logs ports go together")
	}
	if p.Stacks == nil && p.Registry == nil {
		return nil, errors.New("console: no port: give the daemon's or a registry's")
	}
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = 12 * time.Hour
	}
	if cfg.Poll <= 0 {
		cfg.Poll = time.Second
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	tmpl, err := template.New("").Funcs(funcs).Funcs(template.FuncMap{
		"hasStacks":   func() bool { return p.Stacks != nil },
		"hasRegistry": func() bool { return p.Registry != nil },
		"hasStats":    func() bool { return p.Stats != nil },
		"hasImages":   func() bool { return p.Images != nil },
	}).ParseFS(webFS, "web/*.html")
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, sessions: newSessions(cfg.SessionTTL), limiter: newLoginLimiter(), token: &oneTimeToken{value: cfg.Token}, tmpl: tmpl}
	s.hub = newHub(cfg.Ports.Stacks, cfg.Poll, cfg.Log) // never polls without streams
	// Never samples without streams; renders once per sample.
	s.stats = newStatsHub(cfg.Ports.Stats, func(list []*series) ([]byte, error) {
		return s.fragment("stats-body", map[string]any{"Series": list})
	})
	static, _ := fs.Sub(webFS, "web/static")
	m := http.NewServeMux()
	m.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static)))
	m.HandleFunc("GET /login", s.loginPage)
	m.HandleFunc("POST /login", s.login)
	m.HandleFunc("POST /logout", s.act(s.logout))
	if p.engine() {
		m.HandleFunc("GET /{$}", s.read(s.stacksPage))
		m.HandleFunc("GET /stacks/{stack}/services/{service}", s.read(s.servicePage))
		m.HandleFunc("GET /stacks/{stack}/services/{service}/rollback", s.act(s.confirmRollback))
		m.HandleFunc("POST /stacks/{stack}/services/{service}/rollback", s.act(s.rollback))
		m.HandleFunc("GET /images/{digest}", s.read(s.imagePage))
		m.HandleFunc("GET /stacks/{stack}/services/{service}/diff", s.read(s.diffPage))
		m.HandleFunc("GET /events/stacks", s.api(s.stacksEvents))
		m.HandleFunc("GET /events/stacks/{stack}/services/{service}", s.api(s.serviceEvents))
		m.HandleFunc("GET /events/stacks/{stack}/services/{service}/logs", s.api(s.logEvents))
		if p.Stats != nil {
			m.HandleFunc("GET /events/stacks/{stack}/services/{service}/stats", s.api(s.statsEvents))
		}
	} else {
		m.HandleFunc("GET /{$}", s.read(func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/registry", http.StatusSeeOther) }))
	}
	if p.Registry != nil {
		m.HandleFunc("GET /registry", s.read(s.repositoriesPage))
		m.HandleFunc("GET /registry/repository", s.read(s.repositoryPage))
		m.HandleFunc("POST /registry/delete", s.act(s.confirmDelete))
		m.HandleFunc("POST /registry/delete/confirm", s.act(s.deleteRef))
	}
	s.mux = m
	return s, nil
}

// Close stops the live streams' poller and samplers.
func (s *Server) Close() {
	s.hub.close()
	s.stats.close()
}

// ServeHTTP serves the console with its security headers: a strict
// content security policy (scripts and styles only from the console
// itself, no inline script), no framing, no sniffing, no referrer to
// other sites.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPost {
		// The console's forms are a few short fields.
		r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	}
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	// same-origin, not no-referrer: with no-referrer browsers send
	// "Origin: null" on the console's own form POSTs, which sameOrigin
	// refuses.
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cache-Control", "no-store")
	s.mux.ServeHTTP(w, r)
}

// maxForm bounds a POST's body.
const maxForm = 64 << 10

type ctxKey struct{}

// current returns the request's session (set by page and api).
func current(r *http.Request) session {
	ses, _ := r.Context().Value(ctxKey{}).(session)
	return ses
}

// authenticate returns the request's live session.
func (s *Server) authenticate(r *http.Request) (session, string, bool) {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return session{}, "", false
	}
	ses, ok := s.sessions.get(c.Value)
	return ses, c.Value, ok
}

// read wraps a page that only reads: no session → a redirect to /login,
// unless the operator allows anonymous read-only access
// (Config.AnonymousRead); then the page renders for a reader without a
// session, with login links where its actions would be.
func (s *Server) read(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ses, _, ok := s.authenticate(r)
		if !ok {
			if !s.cfg.AnonymousRead {
				http.Redirect(w, r, loginURL(r), http.StatusSeeOther)
				return
			}
			ses = session{LoginURL: loginURL(r)}
		}
		h(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, ses)))
	}
}

// act wraps an action (a confirmation page, a form's POST): a session
// always, whatever Config.AnonymousRead says. No session → a redirect to
// /login for a GET, 401 for a POST; a POST without the session's CSRF
// token (or from another origin) → 403.
func (s *Server) act(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ses, _, ok := s.authenticate(r)
		if !ok {
			if r.Method != http.MethodGet && r.Method != http.MethodHead {
				http.Error(w, "log in first", http.StatusUnauthorized)
				return
			}
			http.Redirect(w, r, loginURL(r), http.StatusSeeOther)
			return
		}
		if r.Method == http.MethodPost && (!sameOrigin(r) || !equalSecret(ses.CSRF, r.PostFormValue("csrf"))) {
			http.Error(w, "missing or wrong CSRF token", http.StatusForbidden)
			return
		}
		h(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, ses)))
	}
}

// loginURL is the login page, coming back to r's page after.
func loginURL(r *http.Request) string {
	return "/login?next=" + url.QueryEscape(r.URL.RequestURI())
}

// api wraps an endpoint scripts read (the event streams): no session →
// 401, unless anonymous read-only access is allowed.
func (s *Server) api(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ses, _, ok := s.authenticate(r)
		if !ok {
			if !s.cfg.AnonymousRead {
				http.Error(w, "log in first", http.StatusUnauthorized)
				return
			}
			ses = session{LoginURL: loginURL(r)}
		}
		h(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, ses)))
	}
}

// sameOrigin rejects a request whose Origin (sent by browsers on POSTs)
// names another site than the one it was sent to, or is "null" (a
// sandboxed frame, a data: URL).
func sameOrigin(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" {
		return true // not a browser's cross-site POST; the CSRF token decides
	}
	u, err := url.Parse(o)
	return err == nil && u.Host == r.Host
}

func (s *Server) render(w http.ResponseWriter, status int, name string, data any) {
	var b strings.Builder
	if err := s.tmpl.ExecuteTemplate(&b, name, data); err != nil {
		s.cfg.Log.Error("console: rendering "+name, "err", err)
		http.Error(w, "rendering the page failed", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(b.String()))
}

// secure tells whether the browser reached the console over HTTPS (its
// own TLS, or a TLS proxy in front that says so): cookies are marked
// Secure then. Over plain HTTP (the loopback default) a browser would drop
// a Secure cookie, and the flag would protect nothing.
func secure(r *http.Request) bool {
	return r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
}

// safeNext keeps a post-login redirect on this site.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n") {
		return "/"
	}
	return next
}

func (s *Server) loginPage(w http.ResponseWriter, r *http.Request) {
	if _, _, ok := s.authenticate(r); ok {
		http.Redirect(w, r, safeNext(r.URL.Query().Get("next")), http.StatusSeeOther)
		return
	}
	s.showLogin(w, r, http.StatusOK, "")
}

func (s *Server) showLogin(w http.ResponseWriter, r *http.Request, status int, msg string) {
	tok := randomHex(16)
	http.SetCookie(w, &http.Cookie{Name: loginCookie, Value: tok, Path: "/login", HttpOnly: true, Secure: secure(r), SameSite: http.SameSiteStrictMode, MaxAge: 600})
	s.render(w, status, "login.html", map[string]any{
		"CSRF": tok, "Next": safeNext(r.FormValue("next")), "Error": msg,
		"Passwords": len(s.cfg.Users) > 0,
	})
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	c, err := r.Cookie(loginCookie)
	if err != nil || !sameOrigin(r) || !equalSecret(c.Value, r.PostFormValue("csrf")) {
		http.Error(w, "missing or wrong CSRF token: reload the login page", http.StatusForbidden)
		return
	}
	tok, user := r.PostFormValue("token"), "token"
	if tok == "" {
		user = r.PostFormValue("user")
	}
	keys := loginKeys(r.RemoteAddr, user)
	if tok != "" {
		keys = loginKeys(r.RemoteAddr, "") // a token has no name to guess
	}
	if wait, ok := s.limiter.begin(keys); !ok {
		secs := int((wait + time.Second - 1) / time.Second)
		s.cfg.Log.Warn("console: login throttled", "user", user, "remote", r.RemoteAddr, "retry_after", secs)
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		s.showLogin(w, r, http.StatusTooManyRequests, "Too many failed logins: try again in "+strconv.Itoa(secs)+" seconds.")
		return
	}
	var ok bool
	if tok != "" {
		ok = s.token.use(tok)
	} else {
		ok = s.cfg.Users.check(user, r.PostFormValue("password"))
	}
	if !ok {
		s.cfg.Log.Warn("console: failed login", "user", user, "remote", r.RemoteAddr)
		s.showLogin(w, r, http.StatusUnauthorized, "Wrong user, password or token.")
		return
	}
	s.limiter.succeeded(keys)
	id, _ := s.sessions.create(user)
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: id, Path: "/", HttpOnly: true, Secure: secure(r), SameSite: http.SameSiteStrictMode, MaxAge: int(s.cfg.SessionTTL / time.Second)})
	http.SetCookie(w, &http.Cookie{Name: loginCookie, Path: "/login", MaxAge: -1})
	s.cfg.Log.Info("console: login", "user", user, "remote", r.RemoteAddr)
	http.Redirect(w, r, safeNext(r.PostFormValue("next")), http.StatusSeeOther)
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	if _, id, ok := s.authenticate(r); ok {
		s.sessions.remove(id)
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Path: "/", MaxAge: -1, HttpOnly: true, Secure: secure(r), SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

func (s *Server) stacksPage(w http.ResponseWriter, r *http.Request) {
	stacks, err := s.cfg.Ports.Stacks.Stacks(r.Context())
	data := map[string]any{"Session": current(r), "Stacks": stacks}
	if err != nil {
		data["Error"] = err.Error()
	}
	s.render(w, http.StatusOK, "stacks.html", data)
}

// findService returns stack/service of stacks.
func findService(stacks []Stack, stack, service string) (Service, bool) {
	for _, st := range stacks {
		if st.Name != stack {
			continue
		}
		for _, sv := range st.Services {
			if sv.Name == service {
				return sv, true
			}
		}
	}
	return Service{Stack: stack, Name: service}, false
}

// serviceData is what the service page and its stream render: the
// service as stacks has it (the page reads them, the stream gets the
// hub's), and its revisions.
func (s *Server) serviceData(ctx context.Context, stacks []Stack, stack, service string) (map[string]any, error) {
	sv, found := findService(stacks, stack, service)
	revs, err := s.cfg.Ports.Deploys.Revisions(ctx, stack, service)
	if err != nil {
		return nil, err
	}
	if !found && len(revs) == 0 {
		return nil, errNotFound
	}
	// Newest first: what an operator looks for at 3 a.m.
	for i, j := 0, len(revs)-1; i < j; i, j = i+1, j-1 {
		revs[i], revs[j] = revs[j], revs[i]
	}
	return map[string]any{"Service": sv, "Revisions": revs}, nil
}

var errNotFound = errors.New("no such service")

func (s *Server) servicePage(w http.ResponseWriter, r *http.Request) {
	stack, service := r.PathValue("stack"), r.PathValue("service")
	stacks, err := s.cfg.Ports.Stacks.Stacks(r.Context())
	var data map[string]any
	if err == nil {
		data, err = s.serviceData(r.Context(), stacks, stack, service)
	}
	if errors.Is(err, errNotFound) {
		http.Error(w, "no service "+service+" in stack "+stack, http.StatusNotFound)
		return
	}
	if err != nil {
		data = map[string]any{"Service": Service{Stack: stack, Name: service}, "Error": err.Error()}
	}
	replica, _ := strconv.Atoi(r.URL.Query().Get("replica"))
	var lines []LogLine
	lerr := s.cfg.Ports.Logs.Logs(r.Context(), LogQuery{Stack: stack, Service: service, Replica: replica, Tail: 100}, func(l LogLine) error {
		lines = append(lines, l)
		return nil
	})
	if lerr != nil {
		data["LogError"] = lerr.Error()
	}
	data["Session"], data["Logs"], data["Replica"] = current(r), lines, replica
	if msg := r.URL.Query().Get("done"); msg != "" {
		data["Done"] = msg
	}
	s.render(w, http.StatusOK, "service.html", data)
}

func (s *Server) confirmRollback(w http.ResponseWriter, r *http.Request) {
	stack, service := r.PathValue("stack"), r.PathValue("service")
	to, err := strconv.Atoi(r.URL.Query().Get("to"))
	if err != nil || to < 1 {
		http.Error(w, "to="+r.URL.Query().Get("to")+": want a revision number", http.StatusBadRequest)
		return
	}
	revs, err := s.cfg.Ports.Deploys.Revisions(r.Context(), stack, service)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	var target, cur *Revision
	for i := range revs {
		if revs[i].Number == to {
			target = &revs[i]
		}
		if revs[i].Current {
			cur = &revs[i]
		}
	}
	if target == nil {
		http.Error(w, "service "+service+" has no revision "+strconv.Itoa(to), http.StatusNotFound)
		return
	}
	s.render(w, http.StatusOK, "confirm.html", map[string]any{"Session": current(r), "Stack": stack, "Service": service, "Target": target, "Current": cur})
}

func (s *Server) rollback(w http.ResponseWriter, r *http.Request) {
	stack, service := r.PathValue("stack"), r.PathValue("service")
	to, err := strconv.Atoi(r.PostFormValue("to"))
	if err != nil || to < 1 {
		http.Error(w, "to="+r.PostFormValue("to")+": want a revision number", http.StatusBadRequest)
		return
	}
	s.cfg.Log.Info("console: rollback", "user", current(r).User, "stack", stack, "service", service, "to", to)
	// The rollout goes on if the browser goes away: a half-done one is
	// worse than one nobody watches.
	if err := s.cfg.Ports.Deploys.Rollback(context.WithoutCancel(r.Context()), stack, service, to); err != nil {
		s.render(w, http.StatusConflict, "error.html", map[string]any{"Session": current(r), "Title": "Rollback failed", "Error": err.Error(),
			"Back": "/stacks/" + url.PathEscape(stack) + "/services/" + url.PathEscape(service)})
		return
	}
	s.hub.poke()
	http.Redirect(w, r, "/stacks/"+url.PathEscape(stack)+"/services/"+url.PathEscape(service)+"?done="+url.QueryEscape("rolled back to revision "+strconv.Itoa(to)), http.StatusSeeOther)
}
