package imageref

import (
	"errors"
	"net/http"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// IsNotFound reports whether err (possibly wrapped) is a registry's "there
// is no such thing" answer: HTTP 404, or the OCI error code MANIFEST_UNKNOWN
// (which some registries send with another status). The clients of the
// registry API over imageref (internal/sign, internal/trust) tell an absent
// tag, manifest or referrers list from a failure with it.
func IsNotFound(err error) bool {
	var te *transport.Error
	if !errors.As(err, &te) {
		return false
	}
	if te.StatusCode == http.StatusNotFound {
		return true
	}
	for _, d := range te.Errors {
		if d.Code == transport.ManifestUnknownErrorCode {
			return true
		}
	}
	return false
}
