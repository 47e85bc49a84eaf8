package sign

import (
	"context"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

func emptyImage() v1.Image {
	return mutate.ConfigMediaType(empty.Image, types.OCIConfigJSON)
}

func TestAttestSignedAndUnsigned(t *testing.T) {
	ctx := context.Background()
	for _, referrersAPI := range []bool{true, false} {
		host := newRegistry(t, referrersAPI)
		ref := host + "/app:1"
		dig := pushImage(t, ref)
		k := mustKey(t)
		spdx := []byte(`{"spdxVersion":"SPDX-2.3","SPDXID":"SPDXRef-DOCUMENT","name":"x","dataLicense":"CC0-1.0","documentNamespace":"https://example.com/x","creationInfo":{"created":"2026-01-01T00:00:00Z","creators":["Tool: berth"]}}`)
		res, err := Attest(ctx, ref, PredicateSPDX, spdx, k, AttestOptions{Formats: []Format{FormatBundle, FormatLegacy}})
		if err != nil {
			t.Fatal(err)
		}
		if res.Digest != dig || res.Tag == "" || !res.Signed {
			t.Fatalf("%+v", res)
		}
		// cosign reads .att layers as signatures: the signature annotation
		// must be present (empty) or cosign verify-attestation refuses them.
		tg, _ := resolve(ctx, ref, Options{})
		att, err := fetchManifest(tg, tg.tag(".att"))
		if err != nil {
			t.Fatal(err)
		}
		if v, ok := att.Layers[0].Annotations[annotationSignature]; !ok || v != "" || att.Layers[0].Annotations[annotationPredicateType] != PredicateSPDX {
			t.Fatalf(".att layer annotations %v", att.Layers[0].Annotations)
		}
		if _, err := Attest(ctx, ref, PredicateSLSA1, []byte(`{"buildDefinition":{}}`), nil, AttestOptions{}); err != nil {
			t.Fatal(err)
		}
		// A signature is no attestation.
		if _, err := Sign(ctx, ref, k, SignOptions{}); err != nil {
			t.Fatal(err)
		}

		got, err := VerifyAttestations(ctx, ref, []*PublicKey{k.Public()}, PredicateSPDX, Options{})
		if err != nil {
			t.Fatalf("api=%v: %v", referrersAPI, err)
		}
		formats := map[Format]bool{}
		for _, a := range got {
			formats[a.Format] = true
			if !a.Verified || a.PredicateType != PredicateSPDX || !a.Statement.About(dig) {
				t.Fatalf("%+v", a)
			}
		}
		if len(got) != 2 || !formats[FormatBundle] || !formats[FormatLegacy] {
			t.Fatalf("api=%v: verified %d attestations %v, want bundle and legacy", referrersAPI, len(got), formats)
		}
		if _, err := VerifyAttestations(ctx, ref, []*PublicKey{mustKey(t).Public()}, PredicateSPDX, Options{}); err == nil {
			t.Fatal("wrong key verified an attestation")
		}
		// The unsigned provenance is listed but never verifies.
		if _, err := VerifyAttestations(ctx, ref, []*PublicKey{k.Public()}, PredicateSLSA1, Options{}); err == nil {
			t.Fatal("unsigned attestation verified")
		}
		all, err := ListAttestations(ctx, ref, "", Options{})
		if err != nil {
			t.Fatal(err)
		}
		types := map[string]int{}
		for _, a := range all {
			types[a.PredicateType]++
		}
		if types[PredicateSPDX] != 2 || types[PredicateSLSA1] != 1 || types[CosignSignPredicate] != 0 {
			t.Fatalf("api=%v: listed %v", referrersAPI, types)
		}
	}
}
