package main

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/berth-dev/berth/internal/sign"
	"github.com/berth-dev/berth/internal/vuln"
)

// dpkgImage is an image whose only package is zlib1g 1:1.2.13.dfsg-1 (two
// findings in the Debian fixtures), pushed to host/repo:1; it returns the
// reference and the manifest digest.
func dpkgImage(t *testing.T, host, repo string) (string, string) {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range []struct{ name, body string }{
		{"etc/os-release", "ID=debian\nVERSION_ID=\"12\"\n"},
		{"var/lib/dpkg/status.d/zlib1g", "Package: zlib1g\nStatus: install ok installed\nArchitecture: amd64\nSource: zlib\nVersion: 1:1.2.13.dfsg-1\n"},
	} {
		tw.WriteHeader(&tar.Header{Name: f.name, Mode: 0o644, Size: int64(len(f.body)), Typeflag: tar.TypeReg})
		tw.Write([]byte(f.body))
	}
	tw.Close()
	img, err := mutate.AppendLayers(empty.Image, static.NewLayer(buf.Bytes(), types.OCIUncompressedLayer))
	if err != nil {
		t.Fatal(err)
	}
	ref := host + "/" + repo + ":1"
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(r, img); err != nil {
		t.Fatal(err)
	}
	d, _ := img.Digest()
	return ref, d.String()
}

// vulnPredicateOf checks an attestation is cosign's vuln predicate about
// digest and returns the scan result inside it.
func vulnPredicateOf(t *testing.T, a sign.Attestation, digest string) vuln.Result {
	t.Helper()
	if a.PredicateType != sign.PredicateVulnCosign || a.Statement == nil {
		t.Fatalf("attestation %+v: want predicate type %s", a, sign.PredicateVulnCosign)
	}
	if len(a.Statement.Subject) != 1 || "sha256:"+a.Statement.Subject[0].Digest["sha256"] != digest {
		t.Errorf("subject %+v, want %s", a.Statement.Subject, digest)
	}
	var p struct {
		Scanner struct {
			URI    string      `json:"uri"`
			Result vuln.Result `json:"result"`
		} `json:"scanner"`
		Metadata struct {
			Started string `json:"scanStartedOn"`
		} `json:"metadata"`
	}
	if err := json.Unmarshal(a.Statement.Predicate, &p); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(p.Scanner.URI, "pkg:golang/github.com/berth-dev/berth@") || p.Metadata.Started == "" {
		t.Errorf("predicate scanner %q, started %q", p.Scanner.URI, p.Metadata.Started)
	}
	return p.Scanner.Result
}

// berth scan IMAGE --attest attaches the result to the scanned manifest as
// cosign's vuln attestation: unsigned without --key, signed (and verifying
// with the public key) with it.
func TestScanAttest(t *testing.T) {
	t.Setenv("BERTH_CACHE", t.TempDir())
	fixtures, _ := filepath.Abs("../../test/fixtures/osv/debian")
	if _, _, err := runCLI(t, "vulndb", "import", fixtures); err != nil {
		t.Fatal(err)
	}
	host := promoteRegistry(t)
	ctx := context.Background()

	ref, digest := dpkgImage(t, host, "team/app")
	out, stderr, err := runCLI(t, "scan", ref, "--attest")
	if err != nil || !strings.Contains(out, "DEBIAN-CVE-2026-27171") || !strings.Contains(stderr, "(unsigned)") {
		t.Fatalf("scan --attest: %v\n%s\n%s", err, out, stderr)
	}
	as, err := sign.ListAttestations(ctx, ref, sign.PredicateVulnCosign, sign.Options{})
	if err != nil || len(as) != 1 {
		t.Fatalf("attestations: %v, %+v", err, as)
	}
	if as[0].Signed {
		t.Error("the attestation without --key is signed")
	}
	res := vulnPredicateOf(t, as[0], digest)
	if res.Target.Digest != digest || len(res.Findings) != 2 || res.Findings[0].Package != "zlib1g" {
		t.Errorf("attested result: target %+v, findings %+v", res.Target, res.Findings)
	}

	// Signed with --key; verify-attestation's check passes with the public key.
	t.Setenv("BERTH_PASSWORD", "pw")
	keyPath, pubPath, err := sign.WriteKeyPair(filepath.Join(t.TempDir(), "cosign"), []byte("pw"), false)
	if err != nil {
		t.Fatal(err)
	}
	ref2, digest2 := dpkgImage(t, host, "team/signed")
	// --fail-on still decides the exit status, after the attestation is attached.
	_, stderr, err = runCLI(t, "scan", ref2, "--attest", "--key", keyPath, "--json", "--fail-on", "unknown")
	if err == nil || !strings.Contains(err.Error(), "2 finding(s) at or above unknown") || !strings.Contains(stderr, "(signed)") {
		t.Fatalf("scan --attest --key --fail-on unknown: %v\n%s", err, stderr)
	}
	pub, err := sign.LoadPublicKey(pubPath)
	if err != nil {
		t.Fatal(err)
	}
	vs, err := sign.VerifyAttestations(ctx, ref2, []*sign.PublicKey{pub}, sign.PredicateVulnCosign, sign.Options{})
	if err != nil || len(vs) != 1 {
		t.Fatalf("verify the signed attestation: %v, %+v", err, vs)
	}
	vulnPredicateOf(t, vs[0], digest2)

	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"scan", "--sbom", "x.json", "--attest"}, "needs IMAGE, not --sbom"},
		{[]string{"scan", ref, "--key", keyPath}, "needs --attest"},
	} {
		if _, _, err := runCLI(t, c.args...); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("berth %v: %v, want %q", c.args, err, c.want)
		}
	}
}
