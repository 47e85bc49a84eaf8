package release

import (
	"context"
	"errors"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/berth-dev/berth/internal/policy"
	"github.com/berth-dev/berth/internal/stack"
)

// fakeTrust is the policy ports over the fixture's call log: a digest
// verifies when it was signed (by Signer) or listed in signed.
type fakeTrust struct {
	log    *calls
	signed map[string]bool
}

func (f *fakeTrust) Verify(_ context.Context, ref string, keys []policy.Key) (bool, string, error) {
	f.log.add("verify %s", ref)
	if f.signed[ref] {
		return true, "", nil
	}
	return false, "no signature", nil
}

func (f *fakeTrust) Sign(_ context.Context, ref string) error {
	f.log.add("sign %s", ref)
	f.signed[ref] = true
	return nil
}

var prodPolicy = &policy.Policy{RequireSignature: true, Keys: []policy.Key{{Name: "keys/release.pub", Path: "/src/keys/release.pub"}}}

func policyTargets() (map[string]stack.Target, error) {
	return map[string]stack.Target{
		"prod":  {Env: "prod", Registry: "127.0.0.1:5002", Repository: "shop", Policy: prodPolicy},
		"local": {Env: "local", Policy: prodPolicy},
	}, nil
}

func withTrust(f *fixture) *fakeTrust {
	tr := &fakeTrust{log: &f.log, signed: map[string]bool{}}
	f.p.Policy = PolicyPorts{Ports: policy.Ports{Verifier: tr}}
	f.r.tags["postgres:16"], _ = v1.NewHash("sha256:" + strings.Repeat("5", 64))
	tr.signed["postgres@sha256:"+strings.Repeat("5", 64)] = true
	return tr
}

// TestShipPolicyRefusesBeforeTagMoves: ship -E prod of unsigned images is
// refused with a message naming the environment, image, rule and finding,
// and no tag of the environment moved: the images were pushed by digest
// only.
func TestShipPolicyRefusesBeforeTagMoves(t *testing.T) {
	f := newFixture()
	withTrust(f)
	_, err := f.p.Prepare(context.Background(), shop(), Request{Mode: Ship, Env: "prod", Tag: "1.4.0", Targets: policyTargets})
	var r *policy.Refusal
	if !errors.As(err, &r) {
		t.Fatalf("got %v, want a policy refusal", err)
	}
	d, _ := f.b.images["app/"].Digest()
	want := `policy of environment "prod": image 127.0.0.1:5002/shop/app@` + d.String() + ` refused: require_signature: no signature verifies with keys/release.pub (no signature)`
	if err.Error() != want {
		t.Errorf("got\n%s\nwant\n%s", err, want)
	}
	for ref := range f.r.written {
		if !strings.Contains(ref, "@sha256:") {
			t.Errorf("a tag moved before the gate: wrote %s", ref)
		}
	}
}

// TestShipPolicySignsThenTags: with a signing key, ship signs every pushed
// digest, the gate verifies it, and only then are the tags written.
func TestShipPolicySignsThenTags(t *testing.T) {
	f := newFixture()
	tr := withTrust(f)
	f.p.Policy.Signer = tr
	spec, err := f.p.Prepare(context.Background(), shop(), Request{Mode: Ship, Env: "prod", Tag: "1.4.0", Targets: policyTargets})
	if err != nil {
		t.Fatal(err)
	}
	app, _ := f.b.images["app/"].Digest()
	dev, _ := f.b.images["app/dev"].Digest()
	byDigest := "127.0.0.1:5002/shop/app@" + app.String()
	devByDigest := "127.0.0.1:5002/shop/app@" + dev.String()
	want := []string{
		"write " + byDigest, "write " + devByDigest,
		"sign " + byDigest, "sign " + devByDigest,
		"verify " + byDigest, "verify " + devByDigest, "resolve postgres:16", "verify postgres@sha256:" + strings.Repeat("5", 64),
		"write 127.0.0.1:5002/shop/app:1.4.0", "write 127.0.0.1:5002/shop/app:1.4.0-dev",
	}
	var got []string
	for _, c := range f.log {
		if !strings.HasPrefix(c, "ping") && !strings.HasPrefix(c, "build") {
			got = append(got, c)
		}
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("calls\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if images(spec)["web"] != byDigest || images(spec)["db"] != "postgres:16@sha256:"+strings.Repeat("5", 64) {
		t.Errorf("images %v", images(spec))
	}
}

// TestDeployTagPolicyRefusesBeforeDaemon: deploy -E prod --tag of an
// unsigned image is refused by Prepare, i.e. before the daemon is asked to
// deploy anything (no container started, no revision recorded): the only
// daemon call is the liveness check.
func TestDeployTagPolicyRefusesBeforeDaemon(t *testing.T) {
	f := newFixture()
	tr := withTrust(f)
	h1, _ := v1.NewHash("sha256:" + strings.Repeat("1", 64))
	h2, _ := v1.NewHash("sha256:" + strings.Repeat("2", 64))
	f.r.tags["127.0.0.1:5002/shop/app:2.0.0"] = h1
	f.r.tags["127.0.0.1:5002/shop/app:2.0.0-dev"] = h2
	tr.signed["127.0.0.1:5002/shop/app@"+h1.String()] = true
	_, err := f.p.Prepare(context.Background(), shop(), Request{Mode: Deploy, Env: "prod", Tag: "2.0.0", Targets: policyTargets})
	want := `policy of environment "prod": image 127.0.0.1:5002/shop/app@` + h2.String() + ` refused: require_signature: no signature verifies with keys/release.pub`
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("got %v\nwant %s", err, want)
	}
	if d := f.log.with("ping daemon"); len(d) != 1 || len(f.log.with("containers")) > 0 || len(f.log.with("write")) > 0 {
		t.Errorf("calls %v", f.log)
	}

	// Signed: allowed, and the external image is pinned to what was checked.
	tr.signed["127.0.0.1:5002/shop/app@"+h2.String()] = true
	f.log = nil
	spec, err := f.p.Prepare(context.Background(), shop(), Request{Mode: Deploy, Env: "prod", Tag: "2.0.0", Targets: policyTargets})
	if err != nil {
		t.Fatal(err)
	}
	if got := images(spec); got["web"] != "127.0.0.1:5002/shop/app:2.0.0@"+h1.String() || got["db"] != "postgres:16@sha256:"+strings.Repeat("5", 64) {
		t.Errorf("images %v", got)
	}
	if v := f.log.with("verify"); len(v) != 3 {
		t.Errorf("verified %v, want each digest once", v)
	}
}

// TestDeployLocalBuildWithPolicyRefused: deploy -E E without --tag would
// build locally; with a policy that is refused before anything is built.
func TestDeployLocalBuildWithPolicyRefused(t *testing.T) {
	f := newFixture()
	withTrust(f)
	_, err := f.p.Prepare(context.Background(), shop(), Request{Mode: Deploy, Env: "prod", Targets: policyTargets})
	if err == nil || !strings.Contains(err.Error(), `policy of environment "prod": service web is built locally`) {
		t.Fatalf("got %v", err)
	}
	if len(f.log) > 0 {
		t.Errorf("calls %v", f.log)
	}
	// Only registry images: each is checked (and pinned).
	f = newFixture()
	withTrust(f)
	st := &stack.Stack{Name: "db", Files: []string{"/src/berth.yaml"}, Services: []stack.Service{{Name: "db", Image: "postgres:16", Replicas: 1}, {Name: "cache", Image: "redis:7", Replicas: 1}}}
	f.r.tags["redis:7"], _ = v1.NewHash("sha256:" + strings.Repeat("7", 64))
	_, err = f.p.Prepare(context.Background(), st, Request{Mode: Deploy, Env: "local", Targets: policyTargets})
	if err == nil || !strings.Contains(err.Error(), "image redis@sha256:7777") || !strings.Contains(err.Error(), "require_signature") {
		t.Fatalf("got %v", err)
	}
}

// TestShipWithKeySignsWithoutPolicy: ship -E with a signing key signs what
// it pushes even when the environment has no policy.
func TestShipWithKeySignsWithoutPolicy(t *testing.T) {
	f := newFixture()
	tr := withTrust(f)
	f.p.Policy.Signer = tr
	if _, err := f.p.Prepare(context.Background(), shop(), Request{Mode: Ship, Env: "staging", Tag: "1.4.0", Targets: targets}); err != nil {
		t.Fatal(err)
	}
	app, _ := f.b.images["app/"].Digest()
	if s := f.log.with("sign"); len(s) != 2 || s[0] != "sign 127.0.0.1:5001/shop/app@"+app.String() {
		t.Errorf("signed %v", s)
	}
	if v := f.log.with("verify"); len(v) > 0 {
		t.Errorf("verified %v without a policy", v)
	}
	if f.r.written["127.0.0.1:5001/shop/app:1.4.0"] == nil {
		t.Errorf("not tagged: %v", f.r.written)
	}
}

// countingScanner is policy.Scanner over the fixture's call log.
type countingScanner struct{ log *calls }

func (s countingScanner) Open(vex []string) (policy.ScanSession, error) {
	s.log.add("open scanner %s", strings.Join(vex, ","))
	return s, nil
}

func (s countingScanner) Scan(_ context.Context, ref string) ([]policy.Finding, error) {
	s.log.add("scan %s", ref)
	return nil, nil
}

func (s countingScanner) Close() error {
	s.log.add("close scanner")
	return nil
}

// TestShipPolicyOpensScannerOnce: ship -E prod with max_severity checks
// every image the stack runs in one scanner session — the vulnerability
// database and the VEX opened once, not per image — closed when the
// release is prepared.
func TestShipPolicyOpensScannerOnce(t *testing.T) {
	f := newFixture()
	tr := withTrust(f)
	f.p.Policy.Signer = tr
	f.p.Policy.Scanner = countingScanner{log: &f.log}
	scanned := &policy.Policy{RequireSignature: true, Keys: prodPolicy.Keys, MaxSeverity: policy.High, VEX: []string{"/src/vex"}}
	tgts := func() (map[string]stack.Target, error) {
		return map[string]stack.Target{"prod": {Env: "prod", Registry: "127.0.0.1:5002", Repository: "shop", Policy: scanned}}, nil
	}
	if _, err := f.p.Prepare(context.Background(), shop(), Request{Mode: Ship, Env: "prod", Tag: "1.4.0", Targets: tgts}); err != nil {
		t.Fatal(err)
	}
	if o := f.log.with("open scanner"); len(o) != 1 || o[0] != "open scanner /src/vex" {
		t.Errorf("scanner opened %v, want once with /src/vex", o)
	}
	if s := f.log.with("scan"); len(s) != 3 {
		t.Errorf("scanned %v, want the 3 images (app, app dev, postgres)", s)
	}
	if c := f.log.with("close scanner"); len(c) != 1 || f.log[len(f.log)-1] != "close scanner" {
		t.Errorf("scanner closed %v (last call %q), want once, after the run", c, f.log[len(f.log)-1])
	}
}
