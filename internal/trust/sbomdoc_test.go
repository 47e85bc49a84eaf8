package trust_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/berth-dev/berth/internal/imageref"
	"github.com/berth-dev/berth/internal/sign"
	"github.com/berth-dev/berth/internal/trust"
)

// An attached SBOM is read back (indented); without one an SBOM is
// generated and Generated says why; provenance is never generated.
func TestReadSBOMAttachedOrGenerated(t *testing.T) {
	ctx := context.Background()
	ref := pushRandom(t, memRegistry(t)+"/team/app:1")
	o := imageref.Options{}

	d, err := trust.ReadSBOM(ctx, ref, "cyclonedx", false, "test", o)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(d.Generated, "no "+sign.PredicateCycloneDX+" attestation is attached: the SBOM is generated from the image") {
		t.Errorf("Generated = %q", d.Generated)
	}
	if !json.Valid(d.Doc) || !strings.Contains(string(d.Doc), "CycloneDX") {
		t.Errorf("generated doc is not CycloneDX JSON: %.200s", d.Doc)
	}

	_, err = trust.ReadSBOM(ctx, ref, "spdx", true, "test", o)
	var na trust.NotAttachedError
	if !errors.As(err, &na) {
		t.Fatalf("provenance without attestation: err = %v, want NotAttachedError", err)
	}

	if _, err := sign.Attest(ctx, ref, sign.PredicateSPDX, []byte(`{"spdxVersion":"SPDX-2.3"}`), nil, sign.AttestOptions{}); err != nil {
		t.Fatal(err)
	}
	d, err = trust.ReadSBOM(ctx, ref, "spdx", false, "test", o)
	if err != nil {
		t.Fatal(err)
	}
	if d.Generated != "" || string(d.Doc) != "{\n  \"spdxVersion\": \"SPDX-2.3\"\n}\n" {
		t.Errorf("attached: Generated %q, doc %q", d.Generated, d.Doc)
	}

	if _, err := trust.ReadSBOM(ctx, ref, "xml", false, "test", o); err == nil || !strings.Contains(err.Error(), `--format "xml"`) {
		t.Errorf("bad format: %v", err)
	}
}

func TestAttachedPredicateOfLocalImage(t *testing.T) {
	_, err := trust.AttachedPredicate(context.Background(), imageref.LayoutPrefix+"./out:app", sign.PredicateSPDX, imageref.Options{})
	var na trust.NotAttachedError
	if !errors.As(err, &na) || !strings.Contains(err.Error(), "is not in a registry") {
		t.Errorf("err = %v", err)
	}
}
