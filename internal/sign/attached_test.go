package sign

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
)

func TestStatementOfEveryEnvelope(t *testing.T) {
	const cdx = "https://cyclonedx.org/bom"
	stmt, err := newStatement("r/app", "sha256:"+strings.Repeat("a", 64), cdx, []byte(`{"bomFormat":"CycloneDX"}`), nil)
	if err != nil {
		t.Fatal(err)
	}
	env, _ := json.Marshal(map[string]any{"payloadType": IntotoPayloadType, "payload": base64.StdEncoding.EncodeToString(stmt), "signatures": []any{}})
	bundle, _ := json.Marshal(map[string]any{"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json", "dsseEnvelope": json.RawMessage(env)})
	for name, blob := range map[string][]byte{"statement": stmt, "dsse": env, "bundle": bundle} {
		s, err := StatementOf(blob)
		if err != nil || s.PredicateType != cdx || string(s.Predicate) != `{"bomFormat":"CycloneDX"}` {
			t.Errorf("%s: %+v %v", name, s, err)
		}
	}
	for _, bad := range []string{`{`, `{"payloadType":"text/plain","payload":"e30="}`, `{"payloadType":"application/vnd.in-toto+json","payload":"!!"}`, `{}`,
		`{"_type":"https://in-toto.io/Statement/v1","subject":[],"predicateType":"p"}`} {
		if _, err := StatementOf([]byte(bad)); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
	if ReferrerPredicateType(map[string]string{annotationBundlePredType: "x"}) != "x" || ReferrerPredicateType(map[string]string{PredicateTypeAnnotation: "y"}) != "y" {
		t.Error("ReferrerPredicateType")
	}
}

func FuzzStatementOf(f *testing.F) {
	f.Add([]byte(`{"_type":"https://in-toto.io/Statement/v1","subject":[],"predicateType":"p","predicate":{}}`))
	f.Add([]byte(`{"dsseEnvelope":{"payloadType":"application/vnd.in-toto+json","payload":"e30="}}`))
	f.Fuzz(func(t *testing.T, blob []byte) {
		s, err := StatementOf(blob)
		if err == nil && (s.PredicateType == "" || len(s.Predicate) == 0) {
			t.Fatalf("statement without a predicate: %+v", s)
		}
	})
}
