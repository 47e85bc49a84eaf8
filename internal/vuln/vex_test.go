package vuln

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func writeVEX(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// A statement silences exactly its finding: the vulnerability it names (by
// id or alias) for the product it names; the other zlib record and other
// packages stay.
func TestVEXSilencesExactlyItsFinding(t *testing.T) {
	db := importDB(t, debianFixtures(t))
	dir := t.TempDir()
	writeVEX(t, dir, "zlib.json", `{
	  "@context": "https://openvex.dev/ns/v0.2.0",
	  "@id": "https://example.com/vex/1",
	  "author": "ops",
	  "timestamp": "2026-12-01T00:00:00Z",
	  "version": 1,
	  "statements": [{
	    "vulnerability": {"name": "CVE-2026-27171"},
	    "products": [{"@id": "pkg:deb/debian/zlib1g?arch=amd64"}],
	    "status": "not_affected",
	    "justification": "vulnerable_code_not_in_execute_path"
	  }, {
	    "vulnerability": {"name": "DEBIAN-CVE-2024-28757"},
	    "products": [{"@id": "pkg:deb/debian/libexpat1@2.5.0-1%2Bdeb12u2"}],
	    "status": "under_investigation"
	  }]
	}`)
	vex, err := LoadVEX([]string{dir})
	if err != nil {
		t.Fatal(err)
	}
	res, err := Scan(Target{Name: "t"}, []string{zlibOld, expatOld, libc6}, db, vex)
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(findingIDs(res), " ")
	want := "DEBIAN-CVE-2010-4756 DEBIAN-CVE-2024-28757 DEBIAN-CVE-2026-27171(suppressed) DEBIAN-CVE-2026-85091"
	if got != want {
		t.Fatalf("findings %s, want %s", got, want)
	}
	for _, f := range res.Findings {
		if f.Suppressed && (f.VEXStatus != "not_affected" || !strings.HasSuffix(f.SuppressedBy, "zlib.json") || f.Justification != "vulnerable_code_not_in_execute_path") {
			t.Errorf("suppressed finding %+v lacks its statement", f)
		}
	}
	if len(res.Active()) != 3 {
		t.Errorf("active %d, want 3", len(res.Active()))
	}
}

// A product naming the image by digest covers the image's packages, or only
// its listed subcomponents; another digest covers nothing.
func TestVEXImageDigestProduct(t *testing.T) {
	db := importDB(t, debianFixtures(t))
	digest := "sha256:" + strings.Repeat("ab", 32)
	doc := func(product string) *VEX {
		v := &VEX{}
		if err := v.Add("v.json", []byte(`{"@context":"https://openvex.dev/ns/v0.2.0","statements":[{"vulnerability":{"name":"DEBIAN-CVE-2010-4756"},"products":[`+product+`],"status":"not_affected","justification":"vulnerable_code_not_present"}]}`)); err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, c := range []struct {
		product string
		want    bool
	}{
		{`{"@id":"pkg:oci/app@` + strings.Replace(digest, ":", "%3A", 1) + `"}`, false}, // percent-encoded: not the digest string
		{`{"@id":"localhost:5000/app@` + digest + `"}`, true},
		{`{"@id":"` + digest + `","subcomponents":[{"@id":"pkg:deb/debian/libc6"}]}`, true},
		{`{"@id":"` + digest + `","subcomponents":[{"@id":"pkg:deb/debian/zlib1g"}]}`, false},
		{`{"@id":"sha256:` + strings.Repeat("cd", 32) + `"}`, false},
	} {
		res, err := Scan(Target{Name: "t", Digest: digest}, []string{libc6}, db, doc(c.product))
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Findings) != 1 || res.Findings[0].Suppressed != c.want {
			t.Errorf("product %s: findings %v, want suppressed=%v", c.product, findingIDs(res), c.want)
		}
	}
}

func TestVEXBadDocuments(t *testing.T) {
	for body, want := range map[string]string{
		`{"@context":"https://example.com","statements":[]}`: "field @context",
		`{"@context":"https://openvex.dev/ns/v0.2.0","statements":[{"vulnerability":{"name":"X"},"products":[{"@id":"p"}],"status":"fine"}]}`: "field statements[0].status",
		`{"@context":"https://openvex.dev/ns/v0.2.0","statements":[{"vulnerability":{},"products":[{"@id":"p"}],"status":"fixed"}]}`:          "field statements[0].vulnerability: missing",
		`{"@context":"https://openvex.dev/ns/v0.2.0","statements":[{"vulnerability":"X","status":"fixed"}]}`:                                  "field statements[0].products: missing",
		`[`: "not an OpenVEX document",
	} {
		err := (&VEX{}).Add("bad.json", []byte(body))
		if err == nil || !strings.Contains(err.Error(), "bad.json: ") || !strings.Contains(err.Error(), want) {
			t.Errorf("Add(%s) = %v, want %q", body, err, want)
		}
	}
}

// TestLoadVEXBounds: a VEX file over the size bound, or a FIFO named as
// one, is refused with its path (a FIFO would block the command forever).
func TestLoadVEXBounds(t *testing.T) {
	dir := t.TempDir()
	big := filepath.Join(dir, "big.json")
	if err := os.WriteFile(big, make([]byte, maxVEX+1), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadVEX([]string{big}); err == nil || !strings.Contains(err.Error(), big) || !strings.Contains(err.Error(), "more than") {
		t.Errorf("oversized VEX: %v", err)
	}
	fifo := filepath.Join(dir, "fifo.json")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := readVEX(fifo); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("FIFO as VEX: %v", err)
	}
}

func FuzzVEXAdd(f *testing.F) {
	f.Add([]byte(`{"@context":"https://openvex.dev/ns/v0.2.0","statements":[{"vulnerability":{"name":"CVE-1","aliases":["GO-1"]},"products":[{"@id":"pkg:deb/debian/libc6","subcomponents":[{"@id":"pkg:golang/x@v1"}]}],"status":"not_affected"}]}`))
	f.Add([]byte(`{"@context":"https://openvex.dev/ns","statements":[{"vulnerability":"CVE-1","products":["sha256:abc"],"status":"fixed"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		v := &VEX{}
		if err := v.Add("f.json", data); err != nil {
			if !strings.HasPrefix(err.Error(), "f.json: ") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		p, _ := ParsePurl(libc6)
		v.suppresses([]string{"CVE-1"}, p, "sha256:abc")
	})
}
