package sign

import (
	"fmt"
	"strings"
)

// ParseAnnotations reads -a KEY=VALUE flags.
func ParseAnnotations(kvs []string) (map[string]string, error) {
	if len(kvs) == 0 {
		return nil, nil
	}
	m := map[string]string{}
	for _, kv := range kvs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("annotation %q: want KEY=VALUE", kv)
		}
		m[k] = v
	}
	return m, nil
}

// annotationsMatch reports whether every wanted key=value is in got (as
// a string, or a value printing as that string, as cosign compares).
func annotationsMatch(want map[string]string, got map[string]any) error {
	for k, v := range want {
		g, ok := got[k]
		if !ok {
			return fmt.Errorf("annotation %s missing", k)
		}
		if s := fmt.Sprint(g); s != v {
			return fmt.Errorf("annotation %s=%q, want %q", k, s, v)
		}
	}
	return nil
}
