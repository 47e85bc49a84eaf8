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
