package imageref

import (
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

func TestIsNotFound(t *testing.T) {
	for _, c := range []struct {
		name string
		err  error
		want bool
	}{
		{"404 without body", &transport.Error{StatusCode: http.StatusNotFound}, true},
		{"404 wrapped", fmt.Errorf("reading x: %w", &transport.Error{StatusCode: http.StatusNotFound}), true},
		{"MANIFEST_UNKNOWN with 400", &transport.Error{StatusCode: http.StatusBadRequest, Errors: []transport.Diagnostic{{Code: transport.ManifestUnknownErrorCode}}}, true},
		{"401", &transport.Error{StatusCode: http.StatusUnauthorized, Errors: []transport.Diagnostic{{Code: transport.UnauthorizedErrorCode}}}, false},
		{"500", &transport.Error{StatusCode: http.StatusInternalServerError}, false},
		{"not a registry answer", errors.New("404 not found"), false},
		{"nil", nil, false},
	} {
		if got := IsNotFound(c.err); got != c.want {
			t.Errorf("%s: IsNotFound = %v, want %v", c.name, got, c.want)
		}
	}
}
