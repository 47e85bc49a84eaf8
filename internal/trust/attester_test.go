package trust_test

import (
	"context"
	"testing"

	"github.com/berth-dev/berth/internal/sign"
	"github.com/berth-dev/berth/internal/trust"
)

// TestAttesterReaders: what the pipeline's attester attaches, unsigned or
// signed, is found by every reader: sign.ListAttestations (berth sbom,
// inspect) and the policy's require_sbom evidence finder; signed, it
// verifies (sign.VerifyAttestations, as cosign verify-attestation) in both
// the bundle and the legacy .att format.
func TestAttesterReaders(t *testing.T) {
	ctx := context.Background()
	k := newKey(t, t.TempDir(), "cosign")
	host := memRegistry(t)
	pub, err := sign.LoadPublicKey(k.pub)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		key  *sign.PrivateKey
	}{{"unsigned", nil}, {"signed", k.priv}} {
		t.Run(tc.name, func(t *testing.T) {
			ref := pushRandom(t, host+"/app:"+tc.name)
			ok, err := trust.RegistryEvidence{}.HasAttestation(ctx, ref, []string{sign.PredicateSPDX})
			if err != nil || ok {
				t.Fatalf("before: %v %v", ok, err)
			}
			a := &trust.Attester{Key: tc.key}
			if err := a.Attach(ctx, ref, sign.PredicateSPDX, []byte(`{"spdxVersion":"SPDX-2.3"}`)); err != nil {
				t.Fatal(err)
			}
			ok, err = trust.RegistryEvidence{}.HasAttestation(ctx, ref, []string{sign.PredicateSPDX, sign.PredicateCycloneDX})
			if err != nil || !ok {
				t.Fatalf("require_sbom's finder: %v %v", ok, err)
			}
			all, err := sign.ListAttestations(ctx, ref, sign.PredicateSPDX, sign.Options{})
			if err != nil {
				t.Fatal(err)
			}
			formats := map[sign.Format]bool{}
			for _, at := range all {
				formats[at.Format] = true
			}
			if tc.key == nil {
				if len(all) != 1 || !formats[sign.FormatStatement] {
					t.Fatalf("listed %+v", all)
				}
				return
			}
			if len(all) != 2 || !formats[sign.FormatBundle] || !formats[sign.FormatLegacy] {
				t.Fatalf("listed %+v", all)
			}
			v, err := sign.VerifyAttestations(ctx, ref, []*sign.PublicKey{pub}, sign.PredicateSPDX, sign.Options{})
			if err != nil || len(v) != 2 {
				t.Fatalf("verified %+v %v", v, err)
			}
		})
	}
}
