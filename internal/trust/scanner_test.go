package trust

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/berth-dev/berth/internal/policy"
	"github.com/berth-dev/berth/internal/registry"
	"github.com/berth-dev/berth/internal/sbom"
	"github.com/berth-dev/berth/internal/vuln"
)

type tarEntry struct {
	name, body, link string
	typ              byte
	mode             int64
}

func layer(t *testing.T, entries ...tarEntry) v1.Layer {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Typeflag: e.typ, Mode: e.mode, Size: int64(len(e.body)), Linkname: e.link}
		if h.Typeflag == 0 {
			h.Typeflag = tar.TypeReg
		}
		if h.Mode == 0 {
			h.Mode = 0o644
		}
		if h.Typeflag != tar.TypeReg {
			h.Size = 0
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			tw.Write([]byte(e.body))
		}
	}
	tw.Close()
	b := buf.Bytes()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil })
	if err != nil {
		t.Fatal(err)
	}
	return l
}

const zlibRecord = `Package: zlib1g
Status: install ok installed
Architecture: amd64
Source: zlib
Version: 1:1.2.13.dfsg-1
Description: compression library - runtime
`

const libcRecord = `Package: libc6
Status: install ok installed
Architecture: amd64
Source: glibc
Version: 2.36-9+deb12u7
Description: GNU C Library: Shared libraries
`

var (
	vulnBinOnce sync.Once
	vulnBin     []byte
	vulnBinErr  string
)

// vulnerableGoBinary builds a tiny main importing golang.org/x/text at
// v0.3.7 (GHSA-69ch-w2m2-3vjp, GO-2022-1059), fetched through the module
// proxy, once per test binary.
func vulnerableGoBinary(t *testing.T) []byte {
	t.Helper()
	if testing.Short() {
		t.Skip("builds a Go binary (-short)")
	}
	vulnBinOnce.Do(func() {
		dir, err := os.MkdirTemp("", "trust-vulnapp-")
		if err != nil {
			vulnBinErr = err.Error()
			return
		}
		defer os.RemoveAll(dir)
		os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module example.com/vulnapp\n\ngo 1.22\n\nrequire golang.org/x/text v0.3.7\n"), 0o644)
		os.WriteFile(filepath.Join(dir, "main.go"), []byte("package main\n\nimport (\n\t\"fmt\"\n\n\t\"golang.org/x/text/language\"\n)\n\nfunc main() {\n\tfmt.Println(language.ParseAcceptLanguage(\"en\"))\n}\n"), 0o644)
		cmd := exec.Command("go", "build", "-mod=mod", "-trimpath", "-o", "app", ".")
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=-mod=mod", "GOWORK=off")
		if out, err := cmd.CombinedOutput(); err != nil {
			vulnBinErr = err.Error() + "\n" + string(out)
			return
		}
		vulnBin, err = os.ReadFile(filepath.Join(dir, "app"))
		if err != nil {
			vulnBinErr = err.Error()
		}
	})
	if vulnBin == nil {
		t.Fatalf("go build: %s", vulnBinErr)
	}
	return vulnBin
}

// vulnerableImage is a Debian-12-looking image with dpkg records and the
// vulnerable Go binary.
func vulnerableImage(t *testing.T) v1.Image {
	t.Helper()
	bin := vulnerableGoBinary(t)
	img, err := mutate.AppendLayers(empty.Image,
		layer(t,
			tarEntry{name: "usr/lib/os-release", body: "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\nVERSION_ID=\"12\"\n"},
			tarEntry{name: "etc/os-release", typ: tar.TypeSymlink, link: "../usr/lib/os-release"},
			tarEntry{name: "var/lib/dpkg/status.d/zlib1g", body: zlibRecord},
			tarEntry{name: "var/lib/dpkg/status.d/libc6", body: libcRecord},
			// never followed: a link where a record would be
			tarEntry{name: "var/lib/dpkg/status.d/evil", typ: tar.TypeSymlink, link: "/etc/shadow"},
			tarEntry{name: "app", body: string(bin), mode: 0o755},
		),
	)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// fixtures is test/fixtures/osv/<sub>.
func fixtures(t *testing.T, sub string) string {
	t.Helper()
	d, err := filepath.Abs(filepath.Join("../../test/fixtures/osv", sub))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// importDB imports sources into a fresh database file and returns its path.
func importDB(t *testing.T, sources ...string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "vulndb.db")
	if _, err := vuln.Import(p, sources); err != nil {
		t.Fatal(err)
	}
	return p
}

// startRegistry serves berth's own registry (internal/registry) on
// loopback and returns its host:port.
func startRegistry(t *testing.T) string {
	t.Helper()
	cfg := registry.DefaultConfig()
	cfg.Root = t.TempDir()
	cfg.Log.Access = false
	cfg.GC.Interval = 0
	reg, err := registry.Open(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(reg.Handler())
	t.Cleanup(func() {
		srv.Close()
		if err := reg.Close(); err != nil {
			t.Errorf("closing the registry: %v", err)
		}
	})
	return strings.TrimPrefix(srv.URL, "http://")
}

// push writes img to host/repo:tag and returns REPO@DIGEST.
func push(t *testing.T, host, repo string, img v1.Image) string {
	t.Helper()
	ref, err := name.ParseReference(host + "/" + repo + ":1")
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img); err != nil {
		t.Fatal(err)
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return host + "/" + repo + "@" + d.String()
}

// The lister is the SBOM inventory: the purls `berth scan` and the policy
// gate match are exactly those of the SBOM berth attaches.
func TestImagePackagesAreTheSBOMInventory(t *testing.T) {
	img := vulnerableImage(t)
	cache := t.TempDir()
	purls, err := ImagePackages(img, "app", cache)
	if err != nil {
		t.Fatal(err)
	}
	inv, err := sbom.Scan(img, "app")
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, p := range inv.Packages {
		want = append(want, p.PURL)
	}
	if !reflect.DeepEqual(purls, want) {
		t.Fatalf("ImagePackages =\n%q\nwant the SBOM's\n%q", purls, want)
	}
	has := map[string]bool{}
	for _, p := range purls {
		has[p] = true
	}
	for _, p := range []string{
		"pkg:deb/debian/libc6@2.36-9+deb12u7?arch=amd64&upstream=glibc&distro=debian-12",
		"pkg:deb/debian/zlib1g@1:1.2.13.dfsg-1?arch=amd64&upstream=zlib&distro=debian-12",
		"pkg:golang/golang.org/x/text@v0.3.7",
	} {
		if !has[p] {
			t.Errorf("no %s in %q", p, purls)
		}
	}
	// The scanner matches them: Debian by source package, Go by module.
	path := importDB(t, fixtures(t, "debian"), fixtures(t, "ghsa"))
	db, err := vuln.OpenDB(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	res, err := vuln.Scan(vuln.Target{Name: "app", Kind: "image"}, purls, db, nil)
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]string{}
	for _, f := range res.Findings {
		found[f.Package+" "+f.ID] = f.Severity
	}
	for k, sev := range map[string]string{
		"golang.org/x/text GHSA-69ch-w2m2-3vjp": "high",
		"zlib1g DEBIAN-CVE-2026-27171":          "unknown",
		"libc6 DEBIAN-CVE-2010-4756":            "unknown",
	} {
		if got, ok := found[k]; !ok || got != sev {
			t.Errorf("finding %s: severity %q (present %v), want %q; findings %v", k, got, ok, sev, found)
		}
	}
}

// A max_severity policy fails closed without a database: a missing file
// and an empty database both refuse, saying how to make one.
func TestScannerWithoutDatabaseRefuses(t *testing.T) {
	empty := filepath.Join(t.TempDir(), "empty")
	if err := os.Mkdir(empty, 0o755); err != nil {
		t.Fatal(err)
	}
	emptyDB := filepath.Join(t.TempDir(), "vulndb.db")
	if _, err := vuln.Import(emptyDB, []string{empty}); err != nil {
		t.Fatalf("importing nothing: %v", err)
	}
	for _, db := range []string{"", filepath.Join(t.TempDir(), "missing.db"), emptyDB} {
		g := policy.Ports{Scanner: Scanner{DB: db}}.Gate("prod", &policy.Policy{MaxSeverity: policy.High})
		err := g.Check(context.Background(), "127.0.0.1:1/app@sha256:"+strings.Repeat("ab", 32))
		if err == nil {
			t.Fatalf("db %q: allowed", db)
		}
		if !errors.Is(err, ErrNoDatabase) || !strings.Contains(err.Error(), "berth vulndb import") || !strings.Contains(err.Error(), "max_severity") {
			t.Errorf("db %q: %v; want a max_severity refusal: no vulnerability database, run berth vulndb import", db, err)
		}
		t.Logf("db %q: %v", db, err)
	}
}

// The severity gate against a real advisory with a CVSS vector
// (GHSA-69ch-w2m2-3vjp, 7.5 high): the image, in berth's registry, is
// refused above medium, allowed at high (not above), and allowed above
// medium once an OpenVEX statement says not_affected.
func TestPolicyGateSeverityWithRealAdvisory(t *testing.T) {
	host := startRegistry(t)
	ref := push(t, host, "team/app", vulnerableImage(t))
	dbPath := importDB(t, fixtures(t, "debian"), fixtures(t, "ghsa"))
	ports := policy.Ports{
		Evidence: RegistryEvidence{},
		Scanner:  Scanner{DB: dbPath, SBOMCache: t.TempDir()},
	}
	ctx := context.Background()

	err := ports.Gate("prod", &policy.Policy{MaxSeverity: policy.Medium}).Check(ctx, ref)
	var refusal *policy.Refusal
	if !errors.As(err, &refusal) {
		t.Fatalf("max_severity medium: %v, want a refusal", err)
	}
	t.Logf("refused: %v", err)
	for _, s := range []string{ref, "max_severity", "GHSA-69ch-w2m2-3vjp", "(high)", "golang.org/x/text v0.3.7", "fixed in 0.3.8", "above medium"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("refusal %q does not say %q", err, s)
		}
	}

	if err := ports.Gate("prod", &policy.Policy{MaxSeverity: policy.High}).Check(ctx, ref); err != nil {
		t.Errorf("max_severity high (the finding is high, not above): %v", err)
	}

	vexDir := t.TempDir()
	doc := `{"@context":"https://openvex.dev/ns/v0.2.0","@id":"https://example.com/vex/text","author":"ops","timestamp":"2026-12-01T00:00:00Z","version":1,
"statements":[{"vulnerability":{"name":"GHSA-69ch-w2m2-3vjp"},"products":[{"@id":"pkg:golang/golang.org/x/text@v0.3.7"}],
"status":"not_affected","justification":"vulnerable_code_not_in_execute_path"}]}`
	if err := os.WriteFile(filepath.Join(vexDir, "text.json"), []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := ports.Gate("prod", &policy.Policy{MaxSeverity: policy.Medium, VEX: []string{vexDir}}).Check(ctx, ref); err != nil {
		t.Errorf("max_severity medium with the VEX statement: %v", err)
	}
	// A statement for another product does not apply.
	other := strings.Replace(doc, "golang.org/x/text@v0.3.7", "golang.org/x/net", 1)
	if err := os.WriteFile(filepath.Join(vexDir, "text.json"), []byte(other), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := ports.Gate("prod", &policy.Policy{MaxSeverity: policy.Medium, VEX: []string{vexDir}}).Check(ctx, ref); err == nil {
		t.Error("max_severity medium with a VEX statement for another product: allowed")
	}
}

// TestPolicyGateOpensDatabaseOncePerRun: one gate run (the images of a
// ship or deploy) opens the vulnerability database and reads the VEX once:
// after the first image both files are gone, and the run's other images
// are still scanned against them (the VEX still suppresses the finding).
// A new run needs the database again.
func TestPolicyGateOpensDatabaseOncePerRun(t *testing.T) {
	host := startRegistry(t)
	ref := push(t, host, "team/app", vulnerableImage(t))
	other := push(t, host, "team/other", vulnerableImage(t))
	dbPath := importDB(t, fixtures(t, "debian"), fixtures(t, "ghsa"))
	vexFile := filepath.Join(t.TempDir(), "text.json")
	doc := `{"@context":"https://openvex.dev/ns/v0.2.0","@id":"https://example.com/vex/text","author":"ops","timestamp":"2026-12-01T00:00:00Z","version":1,
"statements":[{"vulnerability":{"name":"GHSA-69ch-w2m2-3vjp"},"products":[{"@id":"pkg:golang/golang.org/x/text@v0.3.7"}],
"status":"not_affected","justification":"vulnerable_code_not_in_execute_path"}]}`
	if err := os.WriteFile(vexFile, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	ports := policy.Ports{Scanner: Scanner{DB: dbPath, SBOMCache: t.TempDir()}}
	p := &policy.Policy{MaxSeverity: policy.Medium, VEX: []string{vexFile}}
	ctx := context.Background()

	g := ports.Gate("prod", p)
	if err := g.Check(ctx, ref); err != nil {
		t.Fatalf("first image (the VEX suppresses its high finding): %v", err)
	}
	for _, f := range []string{dbPath, vexFile} {
		if err := os.Remove(f); err != nil {
			t.Fatal(err)
		}
	}
	if err := g.Check(ctx, other); err != nil {
		t.Errorf("second image of the run, database and VEX removed after the first: %v", err)
	}
	if err := g.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}

	g = ports.Gate("prod", p)
	defer g.Close()
	if err := g.Check(ctx, ref); err == nil {
		t.Error("a new run without the VEX and database files: allowed")
	}
}
