package policy

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const img = "registry.example/app@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func TestGateRefusesUnsignedNamingImageRuleAndFinding(t *testing.T) {
	g := &Gate{Env: "prod", Policy: &Policy{RequireSignature: true, Keys: []Key{{Name: "keys/release.pub", Path: "/x"}}},
		Verifier: &fakeVerifier{detail: "no signature"}}
	err := g.Check(context.Background(), img)
	var r *Refusal
	if !errors.As(err, &r) {
		t.Fatalf("got %v, want a refusal", err)
	}
	want := `policy of environment "prod": image ` + img + ` refused: require_signature: no signature verifies with keys/release.pub (no signature)`
	if err.Error() != want {
		t.Fatalf("got\n%s\nwant\n%s", err, want)
	}
}

func TestGateAllowsSignedWithSBOMAndNoFindingAbove(t *testing.T) {
	sc := &fakeScanner{findings: []Finding{{ID: "GO-1", Severity: High}, {ID: "X", Severity: Unknown}}}
	ev := &fakeEvidence{ok: true}
	g := &Gate{Env: "prod", Policy: &Policy{RequireSignature: true, RequireSBOM: true, MaxSeverity: High, VEX: []string{"/v"}},
		Verifier: &fakeVerifier{ok: true}, Evidence: ev, Scanner: sc}
	if err := g.Check(context.Background(), img); err != nil {
		t.Fatal(err)
	}
	if len(sc.vex) != 1 || sc.vex[0] != "/v" {
		t.Fatalf("scanner got vex %v", sc.vex)
	}
	if strings.Join(ev.types, ",") != PredicateSPDX+","+PredicateCycloneDX {
		t.Fatalf("evidence asked for %v", ev.types)
	}
}

func TestGateRefusesMissingSBOM(t *testing.T) {
	g := &Gate{Env: "staging", Policy: &Policy{RequireSBOM: true}, Evidence: &fakeEvidence{}}
	err := g.Check(context.Background(), img)
	if err == nil || !strings.Contains(err.Error(), "refused: require_sbom: no SBOM attestation") {
		t.Fatalf("got %v", err)
	}
}

func TestGateRefusesFindingAboveMaxSeverity(t *testing.T) {
	sc := &fakeScanner{findings: []Finding{
		{ID: "DSA-1", Package: "openssl", Version: "3.0.1-1", Fixed: "3.0.2-1", Severity: Critical},
		{ID: "GO-2", Package: "golang.org/x/net", Severity: High},
		{ID: "DSA-0", Package: "zlib", Severity: Critical},
	}}
	g := &Gate{Env: "prod", Policy: &Policy{MaxSeverity: Medium}, Scanner: sc}
	err := g.Check(context.Background(), img)
	want := "refused: max_severity: DSA-0 (critical) in zlib, no fix yet is above medium (and 2 more above medium)"
	if err == nil || !strings.HasSuffix(err.Error(), want) {
		t.Fatalf("got %v, want suffix %s", err, want)
	}
}

func TestGateFailsClosedWithoutPort(t *testing.T) {
	for _, p := range []*Policy{{RequireSignature: true}, {RequireSBOM: true}, {MaxSeverity: Critical}} {
		g := &Gate{Env: "prod", Policy: p}
		var r *Refusal
		if err := g.Check(context.Background(), img); !errors.As(err, &r) {
			t.Fatalf("%v: got %v, want a refusal", p.Rules(), err)
		}
	}
}

func TestGateErrorIsNotRefusal(t *testing.T) {
	g := &Gate{Env: "prod", Policy: &Policy{RequireSignature: true}, Verifier: &fakeVerifier{err: errors.New("connection refused")}}
	err := g.Check(context.Background(), img)
	var r *Refusal
	if err == nil || errors.As(err, &r) || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("got %v", err)
	}
}

func TestGateNeedsDigest(t *testing.T) {
	g := &Gate{Env: "prod", Policy: &Policy{RequireSBOM: true}, Evidence: &fakeEvidence{ok: true}}
	if err := g.Check(context.Background(), "registry.example/app:latest"); err == nil {
		t.Fatal("a tag reference was checked")
	}
	if err := (&Gate{}).Check(context.Background(), "anything"); err != nil {
		t.Fatalf("empty policy: %v", err)
	}
}

func TestParseSeverity(t *testing.T) {
	for s, want := range map[string]Severity{"critical": Critical, "HIGH": High, "medium": Medium, "low": Low} {
		if got, err := ParseSeverity(s); err != nil || got != want {
			t.Errorf("%s: %v %v", s, got, err)
		}
	}
	for _, s := range []string{"", "unknown", "severe", "negligible"} {
		if _, err := ParseSeverity(s); err == nil {
			t.Errorf("%q accepted", s)
		}
	}
}

func TestCheckKey(t *testing.T) {
	dir := t.TempDir()
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.MarshalPKIXPublicKey(&k.PublicKey)
	pub := filepath.Join(dir, "cosign.pub")
	os.WriteFile(pub, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o644)
	if err := CheckKey("keys/cosign.pub", pub); err != nil {
		t.Fatal(err)
	}
	priv := filepath.Join(dir, "cosign.key")
	os.WriteFile(priv, pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED SIGSTORE PRIVATE KEY", Bytes: []byte("x")}), 0o600)
	junk := filepath.Join(dir, "junk.pub")
	os.WriteFile(junk, []byte("hello"), 0o644)
	bad := filepath.Join(dir, "bad.pub")
	os.WriteFile(bad, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: []byte("nope")}), 0o644)
	for path, want := range map[string]string{
		priv:                       "this is a private key",
		junk:                       "not a PEM file",
		bad:                        "not a valid public key",
		filepath.Join(dir, "none"): "no such file",
		dir:                        "not a regular file",
	} {
		err := CheckKey("k", path)
		if err == nil || !strings.Contains(err.Error(), want) || !strings.HasPrefix(err.Error(), "key k: ") {
			t.Errorf("%s: got %v, want %q", path, err, want)
		}
	}
}

// TestGateOpensScannerOncePerRun: a gate checking several images opens the
// scanner (the vulnerability database and the VEX) once, with the policy's
// VEX, scans each image in that session and releases it on Close; a gate
// run after Close opens anew. A scanner that cannot open fails the check
// naming the image and rule, and is tried again at the next image.
func TestGateOpensScannerOncePerRun(t *testing.T) {
	ctx := context.Background()
	sc := &fakeScanner{}
	g := &Gate{Env: "prod", Policy: &Policy{MaxSeverity: High, VEX: []string{"/vex"}}, Scanner: sc}
	refs := []string{img, strings.Replace(img, "app@", "db@", 1), strings.Replace(img, "app@", "web@", 1)}
	for _, r := range refs {
		if err := g.Check(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	if sc.opens != 1 || sc.closes != 0 || strings.Join(sc.scanned, " ") != strings.Join(refs, " ") || strings.Join(sc.vex, ",") != "/vex" {
		t.Fatalf("after 3 checks: %d opens, %d closes, scanned %v, vex %v; want 1 open of /vex, 3 scans", sc.opens, sc.closes, sc.scanned, sc.vex)
	}
	if err := g.Close(); err != nil || sc.closes != 1 {
		t.Fatalf("Close: %v, %d closes", err, sc.closes)
	}
	if err := g.Close(); err != nil || sc.closes != 1 {
		t.Fatalf("second Close: %v, %d closes", err, sc.closes)
	}
	if err := g.Check(ctx, img); err != nil || sc.opens != 2 {
		t.Fatalf("a check after Close: %v, %d opens", err, sc.opens)
	}
	g.Close()

	bad := &fakeScanner{openErr: errors.New("no vulnerability database")}
	g = &Gate{Env: "prod", Policy: &Policy{MaxSeverity: High}, Scanner: bad}
	for range 2 {
		err := g.Check(ctx, img)
		var r *Refusal
		if err == nil || errors.As(err, &r) || err.Error() != `policy of environment "prod": image `+img+`: max_severity: no vulnerability database` {
			t.Fatalf("scanner that cannot open: %v", err)
		}
	}
	if bad.opens != 2 || g.Close() != nil || bad.closes != 0 {
		t.Errorf("failed opens: %d opens, %d closes", bad.opens, bad.closes)
	}
	var none *Gate
	if err := none.Close(); err != nil {
		t.Errorf("nil gate Close: %v", err)
	}
}
