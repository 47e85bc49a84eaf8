package sbom

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	cdx "github.com/CycloneDX/cyclonedx-go"
	"github.com/santhosh-tekuri/jsonschema/v6"
	spdxjson "github.com/spdx/tools-golang/json"
	"github.com/spdx/tools-golang/spdxlib"
)

func testInventory(t testing.TB) *Inventory {
	t.Helper()
	inv, err := Scan(testImage(t), "127.0.0.1:5000/example/app:1.0")
	if err != nil {
		t.Fatal(err)
	}
	return inv
}

// TestSPDXValidates reads berth's SPDX with spdx/tools-golang's JSON reader
// and validates it with its spdxlib.
func TestSPDXValidates(t *testing.T) {
	inv := testInventory(t)
	out, err := SPDX(inv, Meta{Tool: "1.2.3"})
	if err != nil {
		t.Fatal(err)
	}
	doc, err := spdxjson.Read(bytes.NewReader(out))
	if err != nil {
		t.Fatalf("tools-golang json reader: %v", err)
	}
	if err := spdxlib.ValidateDocument(doc); err != nil {
		t.Fatalf("spdxlib.ValidateDocument: %v", err)
	}
	described, err := spdxlib.GetDescribedPackageIDs(doc)
	if err != nil || len(described) != 1 || described[0] != "Image" {
		t.Errorf("described %v %v", described, err)
	}
	if len(doc.Packages) != 1+len(inv.Packages) || len(doc.Files) != len(inv.Files) {
		t.Errorf("%d packages, %d files; inventory %d, %d", len(doc.Packages), len(doc.Files), len(inv.Packages), len(inv.Files))
	}
	purls := map[string]bool{}
	for _, p := range doc.Packages {
		for _, r := range p.PackageExternalReferences {
			if r.RefType == "purl" {
				purls[r.Locator] = true
			}
		}
	}
	for _, p := range inv.Packages {
		if !purls[p.PURL] {
			t.Errorf("purl %s missing from the SPDX document", p.PURL)
		}
	}
	if strings.Contains(doc.DocumentNamespace, "#") || doc.CreationInfo.Created != "2023-11-14T22:13:20Z" {
		t.Errorf("namespace %s, created %s", doc.DocumentNamespace, doc.CreationInfo.Created)
	}
}

// TestCycloneDXValidates decodes berth's BOM with CycloneDX/cyclonedx-go
// and validates it against the official CycloneDX 1.6 JSON schema
// (testdata/cyclonedx, from the cyclonedx-go v0.12.0 module).
func TestCycloneDXValidates(t *testing.T) {
	inv := testInventory(t)
	out, err := CycloneDX(inv, Meta{Tool: "1.2.3"})
	if err != nil {
		t.Fatal(err)
	}
	var bom cdx.BOM
	if err := cdx.NewBOMDecoder(bytes.NewReader(out), cdx.BOMFileFormatJSON).Decode(&bom); err != nil {
		t.Fatalf("cyclonedx-go decode: %v", err)
	}
	if bom.SpecVersion != cdx.SpecVersion1_6 || bom.Metadata.Component.Type != cdx.ComponentTypeContainer || len(*bom.Components) != len(inv.Packages)+len(inv.Files) {
		t.Errorf("spec %v, metadata component %+v, %d components", bom.SpecVersion, bom.Metadata.Component, len(*bom.Components))
	}
	if err := validateCycloneDX(t, out); err != nil {
		t.Fatalf("CycloneDX 1.6 schema: %v", err)
	}
	// The schema check is not vacuous: an unknown top-level key fails.
	bad := bytes.Replace(out, []byte(`"bomFormat"`), []byte(`"extra": 1, "bomFormat"`), 1)
	if err := validateCycloneDX(t, bad); err == nil {
		t.Error("a BOM with an unknown top-level key validated")
	}
}

func validateCycloneDX(t testing.TB, doc []byte) error {
	t.Helper()
	c := jsonschema.NewCompiler()
	for file, id := range map[string]string{
		"bom-1.6.schema.json":   "http://cyclonedx.org/schema/bom-1.6.schema.json",
		"spdx.schema.json":      "http://cyclonedx.org/schema/spdx.schema.json",
		"jsf-0.82.schemax.json": "http://cyclonedx.org/schema/jsf-0.82.schema.json",
	} {
		f, err := os.Open(filepath.Join("testdata", "cyclonedx", file))
		if err != nil {
			t.Fatal(err)
		}
		v, err := jsonschema.UnmarshalJSON(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		if err := c.AddResource(id, v); err != nil {
			t.Fatal(err)
		}
	}
	s, err := c.Compile("http://cyclonedx.org/schema/bom-1.6.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		return err
	}
	return s.Validate(v)
}

// TestDocumentsAreDeterministic: the same image gives the same bytes
// (namespace and serial number from the digest, time from the image), a
// different image different IDs.
func TestDocumentsAreDeterministic(t *testing.T) {
	in := BuildInputs{ConfigPath: "berth.yaml", ConfigSHA256: strings.Repeat("a", 64), LockPath: "berth.lock", LockSHA256: strings.Repeat("b", 64),
		Image: "app", Variant: "dev", Epoch: time.Unix(1700000000, 0),
		Dependencies: []Dependency{{URI: "pkg:deb/debian/libc6@2.36-9+deb12u4?arch=amd64", Digest: map[string]string{"sha256": strings.Repeat("c", 64)}}}}
	render := func(inv *Inventory) [3][]byte {
		var out [3][]byte
		var err error
		if out[0], err = SPDX(inv, Meta{Tool: "1.0"}); err != nil {
			t.Fatal(err)
		}
		if out[1], err = CycloneDX(inv, Meta{Tool: "1.0"}); err != nil {
			t.Fatal(err)
		}
		if out[2], err = Provenance(inv, in, Meta{Tool: "1.0"}); err != nil {
			t.Fatal(err)
		}
		return out
	}
	a, b := render(testInventory(t)), render(testInventory(t))
	for i := range a {
		if !bytes.Equal(a[i], b[i]) {
			t.Errorf("document %d differs between two scans of one image", i)
		}
	}
	other := testInventory(t)
	other.Digest = "sha256:" + strings.Repeat("0", 64)
	c := render(other)
	var x, y struct {
		DocumentNamespace, SerialNumber string
	}
	json.Unmarshal(a[0], &x)
	json.Unmarshal(c[0], &y)
	if x.DocumentNamespace == y.DocumentNamespace {
		t.Error("two images share an SPDX documentNamespace")
	}
	json.Unmarshal(a[1], &x)
	json.Unmarshal(c[1], &y)
	if x.SerialNumber == y.SerialNumber || !strings.HasPrefix(x.SerialNumber, "urn:uuid:") {
		t.Errorf("serial numbers %s, %s", x.SerialNumber, y.SerialNumber)
	}
}

func TestProvenance(t *testing.T) {
	inv := testInventory(t)
	in := BuildInputs{ConfigPath: "berth.yaml", ConfigSHA256: strings.Repeat("a", 64), LockPath: "berth.lock", LockSHA256: strings.Repeat("b", 64),
		Image: "app", Variant: "dev", Epoch: time.Unix(1700000000, 0)}
	out, err := Provenance(inv, in, Meta{Tool: "1.0"})
	if err != nil {
		t.Fatal(err)
	}
	var p struct {
		BuildDefinition struct {
			BuildType          string
			ExternalParameters struct {
				Config  Dependency
				Image   string
				Variant string
			}
			ResolvedDependencies []Dependency
		}
		RunDetails struct{ Builder struct{ ID string } }
	}
	dec := json.NewDecoder(bytes.NewReader(out))
	if err := dec.Decode(&p); err != nil {
		t.Fatal(err)
	}
	bd := p.BuildDefinition
	if bd.BuildType != BuildType || bd.ExternalParameters.Image != "app" || bd.ExternalParameters.Variant != "dev" ||
		bd.ExternalParameters.Config.Digest["sha256"] != in.ConfigSHA256 || p.RunDetails.Builder.ID != "https://berth.dev/berth@1.0" {
		t.Errorf("provenance %s", out)
	}
	var lock, stdlib, module bool
	for _, d := range bd.ResolvedDependencies {
		lock = lock || d.Name == "berth.lock" && d.Digest["sha256"] == in.LockSHA256
		stdlib = stdlib || strings.HasPrefix(d.URI, "pkg:golang/stdlib@") && d.Digest["goVersion"] != ""
		module = module || strings.HasPrefix(d.URI, "pkg:golang/github.com/google/uuid@") && len(d.Digest["dirHash"]) == 64
	}
	if !lock || !stdlib || !module {
		t.Errorf("resolvedDependencies lack the lock (%v), stdlib (%v) or a module by its sum (%v): %s", lock, stdlib, module, out)
	}
	if _, err := Provenance(inv, BuildInputs{}, Meta{}); err == nil {
		t.Error("provenance without a berth.yaml digest: no error")
	}
}
