package proxy

import (
	"net/http"
	"strings"
)

// acmeChallengePrefix is the path under which a CA fetches HTTP-01 answers.
const acmeChallengePrefix = "/.well-known/acme-challenge/"

// isACMEChallenge reports whether a request target is an HTTP-01 fetch.
func isACMEChallenge(target string) bool { return strings.HasPrefix(target, acmeChallengePrefix) }

// serveChallenge answers an HTTP-01 fetch (isACMEChallenge) with the key
// authorization of a challenge in progress. It answers nothing and
// returns false for a token it does not know: the request is routed as
// any other (a service may run its own ACME client).
func (m *certManager) serveChallenge(w http.ResponseWriter, r *http.Request) bool {
	token := strings.TrimPrefix(r.URL.Path, acmeChallengePrefix)
	v, ok := m.tokens.Load(token)
	if !ok || token == "" {
		return false
	}
	w.Header().Set("Content-Type", "text/plain")
	w.Write([]byte(v.(string)))
	return true
}
