package proxy

import (
	"net/http"
	"strings"
)

// acmeChallengePrefix is the path under which a CA fetches HTTP-01 answers.
const acmeChallengePrefix = "/.well-known/acme-challenge/"

// isACMEChallenge reports whether a request target is an HTTP-01 fetch.
func isACMEChallenge(target string) bool { return strings.HasPrefix(target, acmeChallengePrefix) }

// ServeChallenge answers an HTTP-01 fetch (isACMEChallenge) with the key
// authorization of a challenge in progress, or 404.
func (m *certManager) ServeChallenge(w http.ResponseWriter, r *http.Request) {
	token := strings.TrimPrefix(r.URL.Path, acmeChallengePrefix)
	v, ok := m.tokens.Load(token)
	if !ok || token == "" {
		http.Error(w, "no such ACME challenge", http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "text/plain")
	w.Write([]byte(v.(string)))
}
