package proxy

import (
	"crypto/tls"
	"net/http"
	"strings"
)

// acmeChallengePrefix is the path under which a CA fetches HTTP-01 answers.
const acmeChallengePrefix = "/.well-known/acme-challenge/"

// acmeTLSALPNProto is the ALPN protocol of TLS-ALPN-01 validations
// (RFC 8737): a handshake offering only it wants the challenge
// certificate.
const acmeTLSALPNProto = "acme-tls/1"

func isTLSALPNChallenge(hello *tls.ClientHelloInfo) bool {
	return len(hello.SupportedProtos) == 1 && hello.SupportedProtos[0] == acmeTLSALPNProto
}

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
