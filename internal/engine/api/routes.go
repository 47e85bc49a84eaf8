package api

import (
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
)

// Endpoint is one route of the API: a method and a path pattern in
// net/http.ServeMux syntax, relative to the Version prefix. The server's
// route table (Routes) and the client (internal/engine/client) both use
// these constants, so each path is written once.
type Endpoint string

// The API's endpoints.
const (
	GetVersion      Endpoint = "GET /version"                                    // → VersionInfo
	StackUp         Endpoint = "POST /stacks/{name}/up"                          // StackSpec → []Container
	StackDown       Endpoint = "POST /stacks/{name}/down"                        // ?volumes=1 &timeout=30s
	ListContainers  Endpoint = "GET /containers"                                 // ?stack= → []Container
	StackLogs       Endpoint = "GET /stacks/{name}/logs"                         // ?service= (repeatable) &follow=1 &since= &tail= → ndjson logs.Entry
	StackScale      Endpoint = "POST /stacks/{name}/scale"                       // {service: replicas} → []Container
	ContainerExec   Endpoint = "POST /containers/{name}/exec"                    // ExecRequest, Upgrade: berth-exec → frames
	GetStats        Endpoint = "GET /stats"                                      // ?stack= &stream=1 → ndjson StatsSample
	ListImages      Endpoint = "GET /images"                                     // → []Image
	PullImage       Endpoint = "POST /images/pull"                               // PullRequest → ndjson PullEvent
	RemoveImage     Endpoint = "DELETE /images/{ref...}"                         // ?force=1 (references contain slashes: the client escapes them)
	ListVolumes     Endpoint = "GET /volumes"                                    // → []Volume
	RemoveVolume    Endpoint = "DELETE /volumes/{name}"                          // → {"removed": name}; 404 unknown, 409 in use
	Prune           Endpoint = "POST /prune"                                     // ?volumes=1 → PruneReport (207 when something failed)
	ListCerts       Endpoint = "GET /certificates"                               // → []proxy.CertStatus: the proxy's tls: auto certificates
	StackDeploy     Endpoint = "POST /stacks/{name}/deploy"                      // deploy.Request → ndjson deploy.StreamLine
	ServiceRollback Endpoint = "POST /stacks/{name}/services/{service}/rollback" // ?to=N → ndjson deploy.StreamLine
	ServiceHistory  Endpoint = "GET /stacks/{name}/services/{service}/history"   // → []deploy.HistoryEntry
)

// Method is the endpoint's HTTP method.
func (e Endpoint) Method() string {
	m, _, _ := strings.Cut(string(e), " ")
	return m
}

// pattern is the endpoint's path pattern without the Version prefix.
func (e Endpoint) pattern() string {
	_, p, _ := strings.Cut(string(e), " ")
	return p
}

// MuxPattern is the pattern the server registers: "POST /v1/stacks/{name}/up".
func (e Endpoint) MuxPattern() string { return e.Method() + " " + Version + e.pattern() }

// Path fills the pattern's wildcards, in order, with args (path-escaped)
// and returns the path relative to the Version prefix, as Client.Do
// takes it. An empty value or a wrong number of them is an error, not a
// request to another endpoint.
func (e Endpoint) Path(args ...string) (string, error) {
	segs := strings.Split(e.pattern(), "/")
	n := 0
	for i, s := range segs {
		if !strings.HasPrefix(s, "{") {
			continue
		}
		name := strings.TrimSuffix(strings.Trim(s, "{}"), "...")
		if n >= len(args) {
			return "", fmt.Errorf("%s: no value for {%s}", e, name)
		}
		if args[n] == "" {
			return "", fmt.Errorf("%s: {%s} is empty", e, name)
		}
		segs[i] = url.PathEscape(args[n])
		n++
	}
	if n != len(args) {
		return "", fmt.Errorf("%s: %d values for %d wildcards", e, len(args), n)
	}
	return strings.Join(segs, "/"), nil
}

// EngineServer serves the engine's endpoints (internal/engine.Engine).
type EngineServer interface {
	ServeUp(http.ResponseWriter, *http.Request)
	ServeDown(http.ResponseWriter, *http.Request)
	ServeContainers(http.ResponseWriter, *http.Request)
	ServeLogs(http.ResponseWriter, *http.Request)
	ServeScale(http.ResponseWriter, *http.Request)
	ServeExec(http.ResponseWriter, *http.Request)
	ServeStats(http.ResponseWriter, *http.Request)
	ServeImages(http.ResponseWriter, *http.Request)
	ServePull(http.ResponseWriter, *http.Request)
	ServeRemoveImage(http.ResponseWriter, *http.Request)
	ServeVolumes(http.ResponseWriter, *http.Request)
	ServeRemoveVolume(http.ResponseWriter, *http.Request)
	ServePrune(http.ResponseWriter, *http.Request)
	ServeCertificates(http.ResponseWriter, *http.Request)
}

// DeployServer serves the deploy endpoints (internal/deploy.Deployer).
type DeployServer interface {
	ServeDeploy(http.ResponseWriter, *http.Request)
	ServeRollback(http.ResponseWriter, *http.Request)
	ServeHistory(http.ResponseWriter, *http.Request)
}

// Route is one line of the route table.
type Route struct {
	Endpoint Endpoint
	Handler  http.HandlerFunc
}

// Routes is the API's route table: every endpoint and what serves it. The
// daemon (internal/daemon) wires it to the engine and the deployer; dep
// may be nil (an engine alone, in tests), leaving the deploy endpoints out.
func Routes(version VersionInfo, eng EngineServer, dep DeployServer) []Route {
	rs := []Route{
		{GetVersion, func(w http.ResponseWriter, r *http.Request) {
			v := version
			v.API, v.PID = "v1", os.Getpid()
			WriteJSON(w, http.StatusOK, v)
		}},
		{StackUp, eng.ServeUp},
		{StackDown, eng.ServeDown},
		{ListContainers, eng.ServeContainers},
		{StackLogs, eng.ServeLogs},
		{StackScale, eng.ServeScale},
		{ContainerExec, eng.ServeExec},
		{GetStats, eng.ServeStats},
		{ListImages, eng.ServeImages},
		{PullImage, eng.ServePull},
		{RemoveImage, eng.ServeRemoveImage},
		{ListVolumes, eng.ServeVolumes},
		{RemoveVolume, eng.ServeRemoveVolume},
		{Prune, eng.ServePrune},
		{ListCerts, eng.ServeCertificates},
	}
	if dep != nil {
		rs = append(rs,
			Route{StackDeploy, dep.ServeDeploy},
			Route{ServiceRollback, dep.ServeRollback},
			Route{ServiceHistory, dep.ServeHistory},
		)
	}
	return rs
}

// Mux serves routes. A request no route matches gets a JSON error (404,
// or 405 with Allow when only the method is wrong) like every other
// failure, so the client reports the daemon's message.
func Mux(routes []Route) http.Handler {
	mux := http.NewServeMux()
	for _, r := range routes {
		mux.HandleFunc(r.Endpoint.MuxPattern(), r.Handler)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, pattern := mux.Handler(r); pattern == "" {
			// The mux answers itself (not found, wrong method, a
			// redirect to the clean path): plain-text errors become JSON.
			w = &jsonErrors{ResponseWriter: w, r: r}
		}
		mux.ServeHTTP(w, r) // sets the path values the handlers read
	})
}

// jsonErrors rewrites the mux's plain-text 404 and 405 into JSON errors.
type jsonErrors struct {
	http.ResponseWriter
	r       *http.Request
	written bool // the JSON error went out: drop the mux's body
}

func (j *jsonErrors) WriteHeader(status int) {
	var err error
	switch status {
	case http.StatusNotFound:
		err = fmt.Errorf("no API endpoint %s %s (is the daemon older than this client?)", j.r.Method, j.r.URL.Path)
	case http.StatusMethodNotAllowed:
		err = fmt.Errorf("API endpoint %s does not take %s (it takes %s)", j.r.URL.Path, j.r.Method, j.Header().Get("Allow"))
	default:
		j.ResponseWriter.WriteHeader(status)
		return
	}
	j.Header().Del("X-Content-Type-Options")
	WriteError(j.ResponseWriter, status, err)
	j.written = true
}

func (j *jsonErrors) Write(p []byte) (int, error) {
	if j.written {
		return len(p), nil
	}
	return j.ResponseWriter.Write(p)
}
