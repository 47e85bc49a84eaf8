package registry

import (
	"encoding/json"
	"testing"
)

// FuzzYAMLToJSON: any input either fails cleanly or gives valid JSON.
func FuzzYAMLToJSON(f *testing.F) {
	for _, s := range []string{
		"", "root: /r\n", "gc: {interval: 90s, grace: 60}\n", "1: x\n", "a: .inf\n",
		"a: &x [1, 2]\nb: *x\n", "<<: {a: 1}\n", "[a, b]\n", "a: !!binary aGk=\n", "? [a]\n: b\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		js, err := yamlToJSON(data)
		if err != nil {
			return
		}
		if !json.Valid(js) {
			t.Fatalf("%q gave invalid JSON %q", data, js)
		}
	})
}
