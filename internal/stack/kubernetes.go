package stack

import (
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"go.yaml.in/yaml/v4"
)

// Kubernetes is an environment's cluster target (environments.NAME.kubernetes:):
// the kubeconfig file, its context and the namespace the stack's objects
// live in: berth deploy -E and the other stack commands use it
// (internal/kube/remote), `berth export --kubernetes` its Namespace.
type Kubernetes struct {
	// Kubeconfig is the kubeconfig path, as kubectl's: the file's
	// kubeconfig:, else $KUBECONFIG (a list joined by ':' is kept as it
	// is), else ~/.kube/config. A relative kubeconfig: is relative to
	// berth.yaml's directory.
	Kubeconfig string
	Context    string // "": the kubeconfig's current-context
	Namespace  string // "": default
}

// kubernetesKeys are the fields of environments.NAME.kubernetes:.
var kubernetesKeys = []string{"context", "kubeconfig", "namespace"}

var dns1123LabelRE = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)

// kubernetes reads an environment's kubernetes: (nil when absent). Values
// take ${VAR}s like registry:.
func (tl *targetLoader) kubernetes(env *yaml.Node, path string, lookup *envLookup) (*Kubernetes, error) {
	i := keyIndex(env, "kubernetes")
	if i < 0 || isNullNode(env.Content[i+1]) {
		return nil, nil
	}
	n := env.Content[i+1]
	path += ".kubernetes"
	if n.Kind != yaml.MappingNode {
		return nil, tl.errAt(n, path, "expected a mapping (context:, kubeconfig:, namespace:)")
	}
	k := &Kubernetes{}
	for j := 0; j+1 < len(n.Content); j += 2 {
		key, v := n.Content[j], n.Content[j+1]
		field := path + "." + key.Value
		if !slices.Contains(kubernetesKeys, key.Value) {
			return nil, tl.errAt(key, path, fmt.Sprintf("unknown field %q (fields: %s)", key.Value, strings.Join(kubernetesKeys, ", ")))
		}
		if isNullNode(v) {
			continue
		}
		if v.Kind != yaml.ScalarNode {
			return nil, tl.errAt(v, field, "expected a string")
		}
		s, err := lookup.interpolate(v.Value)
		if err != nil {
			return nil, tl.errAt(v, field, err.Error())
		}
		switch key.Value {
		case "kubeconfig":
			if s == "" {
				return nil, tl.errAt(v, field, "empty path (leave kubeconfig: out for kubectl's default)")
			}
			if !filepath.IsAbs(s) && !strings.HasPrefix(s, "~/") {
				s = filepath.Join(tl.f.Dir, s)
			}
			k.Kubeconfig = s
		case "context":
			if strings.TrimSpace(s) == "" {
				return nil, tl.errAt(v, field, "empty context name (leave context: out for the kubeconfig's current-context)")
			}
			k.Context = s
		case "namespace":
			if len(s) > 63 || !dns1123LabelRE.MatchString(s) {
				return nil, tl.errAt(v, field, fmt.Sprintf("%q is not a valid namespace: at most 63 lower-case letters, digits and '-', starting and ending with a letter or digit", s))
			}
			k.Namespace = s
		}
	}
	if k.Kubeconfig == "" {
		if v, ok := tl.o.lookupEnv("KUBECONFIG"); ok && v != "" {
			k.Kubeconfig = v
		} else {
			k.Kubeconfig = "~/.kube/config"
		}
	}
	if rest, ok := strings.CutPrefix(k.Kubeconfig, "~/"); ok {
		if home, ok := tl.o.lookupEnv("HOME"); ok && home != "" {
			k.Kubeconfig = filepath.Join(home, rest)
		}
	}
	return k, nil
}
