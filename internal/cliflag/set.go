package cliflag

import (
	"fmt"
	"strings"
)

// ParseSet reads --set KEY=VALUE flags.
func ParseSet(kvs []string) (map[string]string, error) {
	set := map[string]string{}
	for _, kv := range kvs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("--set %q: want KEY=VALUE", kv)
		}
		set[k] = v
	}
	return set, nil
}
