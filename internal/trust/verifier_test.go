package trust_test

import (
	"context"
	"strings"
	"testing"

	"github.com/berth-dev/berth/internal/policy"
	"github.com/berth-dev/berth/internal/sign"
	"github.com/berth-dev/berth/internal/trust"
)

// TestVerifier: the policy's signature verifier refuses an unsigned image
// ("no signature") and one signed by another key (naming the source and
// the reason, with the berth.yaml key name), accepts it signed by a
// policy key, and a missing key file is an error naming the key.
func TestVerifier(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	good, other := newKey(t, dir, "release"), newKey(t, dir, "other")
	ref := pushRandom(t, memRegistry(t)+"/app:1")
	keys := []policy.Key{{Name: "keys/release.pub", Path: good.pub}}
	v := trust.Verifier{}

	ok, detail, err := v.Verify(ctx, ref, keys)
	if err != nil || ok || detail != "no signature" {
		t.Fatalf("unsigned: %v %q %v", ok, detail, err)
	}
	if _, err := sign.Sign(ctx, ref, other.priv, sign.SignOptions{}); err != nil {
		t.Fatal(err)
	}
	ok, detail, err = v.Verify(ctx, ref, keys)
	if err != nil || ok || !strings.Contains(detail, "1 signature, none verifies") {
		t.Fatalf("signed by another key: %v %q %v", ok, detail, err)
	}
	s, err := trust.NewSigner(good.keyPath, envPrompt("pw"), sign.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Sign(ctx, ref); err != nil {
		t.Fatal(err)
	}
	ok, detail, err = v.Verify(ctx, ref, keys)
	if err != nil || !ok || detail != "verified with keys/release.pub" {
		t.Fatalf("signed by the policy key: %v %q %v", ok, detail, err)
	}
	_, _, err = v.Verify(ctx, ref, []policy.Key{{Name: "keys/missing.pub", Path: dir + "/missing.pub"}})
	if err == nil || !strings.Contains(err.Error(), "key keys/missing.pub") {
		t.Fatalf("missing key file: %v", err)
	}
}
