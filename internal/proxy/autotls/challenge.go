package autotls

import (
	"net/http"
	"strings"
)

// ChallengePrefix is the path under which a CA fetches HTTP-01 answers.
const ChallengePrefix = "/.well-known/acme-challenge/"

// IsChallenge reports whether a request target is an HTTP-01 fetch.
func IsChallenge(target string) bool { return strings.HasPrefix(target, ChallengePrefix) }

// ServeChallenge answers an HTTP-01 fetch (IsChallenge) with the key
// authorization of a challenge in progress, or 404.
func (m *Manager) ServeChallenge(w http.ResponseWriter, r *http.Request) {
	token := strings.TrimPrefix(r.URL.Path, ChallengePrefix)
	v, ok := m.tokens.Load(token)
	if !ok || token == "" {
		http.Error(w, "no such ACME challenge", http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "text/plain")
	w.Write([]byte(v.(string)))
}
