package console

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// Access is how a console is reached and who may read it: the flags
// --console, --console-users and --console-anonymous-read of berth daemon
// and berth registry serve.
type Access struct {
	// Addr is the TCP address to serve on.
	Addr string
	// Users is an htpasswd-style file of bcrypt hashes; empty: a
	// one-time login token is made and logged.
	Users string
	// AnonymousRead lets anyone who reaches Addr read the pages and the
	// live streams (and logs) without logging in; every action still
	// needs a login. Off by default.
	AnonymousRead bool
}

// Listen serves a console over ports on a.Addr (plain HTTP; loopback is
// the default and the advice) and returns its stop. Users come from the
// htpasswd-style a.Users; without one, a one-time login token is made and
// logged (the operator's way in, as the daemon prints it).
func Listen(a Access, ports Ports, log *slog.Logger) (func(context.Context), error) {
	if log == nil {
		log = slog.Default()
	}
	cfg := Config{Ports: ports, Log: log, AnonymousRead: a.AnonymousRead}
	if a.Users != "" {
		users, err := LoadUsers(a.Users)
		if err != nil {
			return nil, err
		}
		cfg.Users = users
	} else {
		cfg.Token = NewToken()
	}
	s, err := New(cfg)
	if err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", a.Addr)
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("--console %s: %w", a.Addr, err)
	}
	url := "http://" + l.Addr().String() + "/"
	for _, w := range warnings(l.Addr(), a.AnonymousRead) {
		log.Warn(w, "addr", l.Addr().String())
	}
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(l) }()
	if cfg.Token != "" {
		log.Info("console listening; log in once with this token (or restart with --console-users FILE)", "url", url, "token", cfg.Token, "anonymous_read", a.AnonymousRead)
	} else {
		log.Info("console listening", "url", url, "users", len(cfg.Users), "anonymous_read", a.AnonymousRead)
	}
	return func(ctx context.Context) {
		s.Close()
		_ = srv.Shutdown(ctx)
	}, nil
}

// warnings are what Listen warns about at start for a console listening
// on addr: plain HTTP beyond loopback, and anonymous reading beyond it.
func warnings(addr net.Addr, anonymousRead bool) []string {
	host, _, _ := net.SplitHostPort(addr.String())
	if net.ParseIP(host).IsLoopback() {
		return nil
	}
	w := []string{"the console listens beyond loopback over plain HTTP: put a TLS proxy in front of it"}
	if anonymousRead {
		w = append(w, "--console-anonymous-read on a console beyond loopback: anyone who reaches this address reads every page, live stream and log without logging in (actions still need a login)")
	}
	return w
}
