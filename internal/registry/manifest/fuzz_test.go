package manifest

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"

	v1 "github.com/opencontainers/image-spec/specs-go/v1"
)

func FuzzParse(f *testing.F) {
	for _, fx := range allFixtures {
		f.Add(fx.contentType, fixture(fx.body))
		f.Add("", fixture(fx.body))
	}
	f.Add(MediaTypeDockerSchema1Signed, fixture(schema1))
	f.Add("", []byte(`{"schemaVersion": 2, "manifests": [], "config": {}}`))
	f.Add(MediaTypeOCIManifest, []byte(`{"schemaVersion": 2, "config": {"mediaType": "a/b", "digest": "sha256:bad", "size": -1}}`))
	f.Add("application/json; charset=utf-8", []byte(`[]`))

	f.Fuzz(func(t *testing.T, contentType string, body []byte) {
		p, err := Parse(contentType, body)
		if err != nil {
			if p != nil {
				t.Fatalf("error %v with a result", err)
			}
			return
		}
		switch p.MediaType {
		case MediaTypeOCIManifest, MediaTypeDockerManifest:
			if p.Config == nil || p.Manifests != nil || p.IsIndex() {
				t.Fatalf("image manifest parsed as %+v", p)
			}
		case MediaTypeOCIIndex, MediaTypeDockerManifestList:
			if p.Config != nil || p.Layers != nil || p.Blobs() != nil || !p.IsIndex() {
				t.Fatalf("index parsed as %+v", p)
			}
		default:
			t.Fatalf("accepted media type %q", p.MediaType)
		}
		check := func(what string, d v1.Descriptor) {
			if d.MediaType == "" || d.Size < 0 {
				t.Fatalf("%s: bad descriptor %+v", what, d)
			}
			if err := d.Digest.Validate(); err != nil {
				t.Fatalf("%s: accepted digest %q: %v", what, d.Digest, err)
			}
			if d.Data != nil {
				if int64(len(d.Data)) != d.Size || d.Digest.Algorithm().FromBytes(d.Data) != d.Digest {
					t.Fatalf("%s: accepted data that does not match", what)
				}
				if RequiresBlob(d) {
					t.Fatalf("%s: inline data still requires a blob", what)
				}
			}
		}
		for _, d := range p.Blobs() {
			check("blob", d)
		}
		for _, d := range p.Manifests {
			check("manifest", d)
		}
		if p.Subject != nil {
			check("subject", *p.Subject)
		}
		_ = ReferrerArtifactType(p)

		// Parsing is deterministic.
		again, err := Parse(contentType, body)
		if err != nil || !reflect.DeepEqual(p, again) {
			t.Fatalf("second parse differs: %v", err)
		}
	})
}

// FuzzDecodeObject checks the fast duplicate check in decodeObject against
// a plain token walk: both must agree on which objects repeat a name.
func FuzzDecodeObject(f *testing.F) {
	for _, s := range []string{
		`{}`, `{"a":1}`, `{"a":1,"a":2}`, `{"a":{"a":1,"b":[{"a":1}]},"b":"x:y"}`,
		`{"a\"":1,"a":2}`, `{"\u0061":1,"a":2}`, `{"a\\":1,"a":2}`, ` {"a" : "}" , "b":":"} `,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		obj, err := decodeObject(data)
		var ref map[string]json.RawMessage
		if json.Unmarshal(data, &ref) != nil || ref == nil {
			if err == nil {
				t.Fatalf("decodeObject accepted %q, which is not a JSON object", data)
			}
			return
		}
		dup := false
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.Token()
		seen := map[string]bool{}
		for dec.More() {
			tok, _ := dec.Token()
			name := tok.(string)
			dup = dup || seen[name]
			seen[name] = true
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				t.Fatalf("reference walk: %v", err)
			}
		}
		if dup != (err != nil) {
			t.Fatalf("%q: duplicate %v but decodeObject error %v", data, dup, err)
		}
		if err == nil && len(obj) != len(ref) {
			t.Fatalf("%q: %d members, want %d", data, len(obj), len(ref))
		}
	})
}
