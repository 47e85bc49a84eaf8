package kube

import (
	"encoding/json"
	"testing"

	"github.com/berth-dev/berth/internal/model"
)

// FuzzTranslate feeds random stacks (JSON-decoded model.StackSpecs): the
// translation never panics, and what it accepts validates and encodes.
func FuzzTranslate(f *testing.F) {
	for _, s := range [][]model.ServiceSpec{{base()}, fullStack()} {
		b, _ := json.Marshal(model.StackSpec{Name: "shop", Services: s})
		f.Add(b)
	}
	f.Add([]byte(`{"name":"x","services":[{"name":"a","image":"i","user":"1:2","ports":[{"containerPort":70000}]}]}`))
	f.Add([]byte(`{"name":"x","services":[{"name":"a","image":"i","health":{"test":["HTTP","http://[::1"]},"stopSignal":-3}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var spec model.StackSpec
		if json.Unmarshal(data, &spec) != nil {
			return
		}
		read := func(p string) ([]byte, error) { return []byte(p), nil }
		r, err := Translate(spec, Options{ReadFile: read, SecretValues: true})
		if err != nil {
			return
		}
		for _, o := range r.Objects {
			if err := ValidateObject(o); err != nil {
				t.Fatalf("accepted an invalid object: %v", err)
			}
		}
		if _, err := MarshalYAML(r.Objects); err != nil {
			t.Fatal(err)
		}
	})
}

// FuzzDecodeRevision feeds random bytes as a history entry (the history
// ConfigMap is anyone's with write access to the namespace): decoding and
// decoding its objects never panic, and a decoded revision encodes again.
func FuzzDecodeRevision(f *testing.F) {
	objs := translate(f, Options{Namespace: "shop"}, base()).Objects
	var raw []json.RawMessage
	for _, o := range objs {
		b, _ := stored(o)
		raw = append(raw, b)
	}
	good, _ := encodeRevision(Revision{Number: 1, Outcome: OutcomeDeployed, Objects: raw})
	f.Add(good)
	f.Add([]byte{0x1f, 0x8b})
	f.Add([]byte("not gzip"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := decodeRevision(data)
		if err != nil {
			return
		}
		_, _ = decodeObjects(r.Objects)
		if _, err := encodeRevision(r); err != nil {
			t.Fatal(err)
		}
	})
}
