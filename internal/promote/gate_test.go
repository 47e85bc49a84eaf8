package promote

import (
	"context"
	"errors"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/berth-dev/berth/internal/policy"
)

type denyAll struct{ asked []string }

func (d *denyAll) Verify(_ context.Context, ref string, _ []policy.Key) (bool, string, error) {
	d.asked = append(d.asked, ref)
	return false, "no signature", nil
}

// TestPromoteGateRefusesBeforeWriting: a target policy refusing the image
// stops the promotion before anything reaches the target — no upload
// session, no manifest, no tag — and the message names the environment,
// the image by digest, the rule and the finding.
func TestPromoteGateRefusesBeforeWriting(t *testing.T) {
	ctx := context.Background()
	staging, prod := startRegistry(t), startRegistry(t)
	img := ociImage(t, randomLayer(t))
	push(t, img, staging.host+"/shop/app:1.0")
	d, _ := img.Digest()
	prod.reset()

	v := &denyAll{}
	gate := policy.Ports{Verifier: v}.Gate("prod", &policy.Policy{RequireSignature: true, Keys: []policy.Key{{Name: "keys/release.pub"}}})
	_, err := Promote(ctx, Options{Src: staging.host + "/shop/app:1.0", Dst: prod.host + "/shop/app:1.0", Gate: gate})
	var r *policy.Refusal
	if !errors.As(err, &r) {
		t.Fatalf("got %v, want a refusal", err)
	}
	want := `policy of environment "prod": image ` + staging.host + `/shop/app@` + d.String() + ` refused: require_signature: no signature verifies with keys/release.pub (no signature)`
	if err.Error() != want {
		t.Errorf("got\n%s\nwant\n%s", err, want)
	}
	if sessions, uploaded := prod.reset(); sessions != 0 || len(uploaded) != 0 {
		t.Errorf("the target got %d upload sessions, %v", sessions, uploaded)
	}
	if _, err := remote.Head(ref(t, prod.host+"/shop/app@"+d.String())); err == nil {
		t.Error("the manifest reached the target")
	}
	if _, err := remote.Head(ref(t, prod.host+"/shop/app:1.0")); err == nil {
		t.Error("the target's tag moved")
	}
}
