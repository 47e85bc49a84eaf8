package trust

import (
	"context"
	"strings"
	"testing"

	"github.com/berth-dev/berth/internal/sign"
	"github.com/berth-dev/berth/internal/vuln"
)

// Only a registry image scanned by digest can carry the attestation: an
// SBOM scan or a local layout is refused before anything is written.
func TestAttestScanNeedsARegistryImage(t *testing.T) {
	d := "sha256:" + strings.Repeat("ab", 32)
	dir := t.TempDir()
	for _, c := range []struct {
		target vuln.Target
		want   string
	}{
		{vuln.Target{Name: "app.spdx.json", Kind: "sbom"}, "not an image scanned by digest"},
		{vuln.Target{Name: "oci-layout:" + dir + ":app", Kind: "image", Digest: d}, "not a registry reference"},
	} {
		_, err := AttestScan(context.Background(), &vuln.Result{Target: c.target}, vuln.Stats{}, "dev", nil, sign.Options{})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want %q", c.target, err, c.want)
		}
	}
}
