package stack

import (
	"fmt"
	"os"
	"slices"
	"strings"

	"go.yaml.in/yaml/v4"

	"github.com/berth-dev/berth/internal/policy"
)

// policyKeys are the fields of environments.NAME.policy:.
var policyKeys = []string{"require_signature", "require_sbom", "max_severity", "vex"}

// policy reads an environment's policy: (nil when absent). Its values are
// literal — no ${VAR}s — so nothing outside the file (an environment
// variable, --set) can weaken a gate. Key and VEX paths are relative to the
// berth.yaml's directory and may not leave its root; key files must be PEM
// public keys, VEX paths must exist.
func (tl *targetLoader) policy(env *yaml.Node, path string) (*policy.Policy, error) {
	i := keyIndex(env, "policy")
	if i < 0 || isNullNode(env.Content[i+1]) {
		return nil, nil
	}
	n := env.Content[i+1]
	path += ".policy"
	if n.Kind != yaml.MappingNode {
		return nil, tl.errAt(n, path, "expected a mapping (require_signature:, require_sbom:, max_severity:, vex:)")
	}
	p := &policy.Policy{}
	for j := 0; j+1 < len(n.Content); j += 2 {
		k, v := n.Content[j], n.Content[j+1]
		field := path + "." + k.Value
		if !slices.Contains(policyKeys, k.Value) {
			return nil, tl.errAt(k, path, fmt.Sprintf("unknown field %q (fields: %s)", k.Value, strings.Join(policyKeys, ", ")))
		}
		if isNullNode(v) {
			continue
		}
		var err error
		switch k.Value {
		case "require_signature":
			err = tl.requireSignature(v, field, p)
		case "require_sbom":
			p.RequireSBOM, err = tl.boolValue(v, field)
		case "max_severity":
			if v.Kind != yaml.ScalarNode {
				return nil, tl.errAt(v, field, "expected one of critical, high, medium, low")
			}
			if p.MaxSeverity, err = policy.ParseSeverity(v.Value); err != nil {
				return nil, tl.errAt(v, field, err.Error())
			}
		case "vex":
			p.VEX, err = tl.paths(v, field, func(real string) error {
				_, err := os.Stat(real)
				return err
			})
		}
		if err != nil {
			return nil, err
		}
	}
	return p, nil
}

func (tl *targetLoader) boolValue(v *yaml.Node, field string) (bool, error) {
	if v.Kind == yaml.ScalarNode && v.Tag == "!!bool" {
		return v.Value == "true" || v.Value == "True" || v.Value == "TRUE", nil
	}
	return false, tl.errAt(v, field, fmt.Sprintf("expected true or false, got %q", v.Value))
}

// requireSignature reads require_signature: {keys: [FILE...]} (or false).
func (tl *targetLoader) requireSignature(v *yaml.Node, field string, p *policy.Policy) error {
	if v.Kind == yaml.ScalarNode && v.Tag == "!!bool" {
		if on, _ := tl.boolValue(v, field); on {
			return tl.errAt(v, field, "name the public keys a signature must verify with: require_signature: {keys: [keys/release.pub]}")
		}
		return nil
	}
	if v.Kind != yaml.MappingNode {
		return tl.errAt(v, field, "expected a mapping {keys: [FILE...]}")
	}
	var keysNode *yaml.Node
	for j := 0; j+1 < len(v.Content); j += 2 {
		if v.Content[j].Value != "keys" {
			return tl.errAt(v.Content[j], field, fmt.Sprintf("unknown field %q (fields: keys)", v.Content[j].Value))
		}
		keysNode = v.Content[j+1]
	}
	if keysNode == nil || isNullNode(keysNode) || keysNode.Kind == yaml.SequenceNode && len(keysNode.Content) == 0 {
		return tl.errAt(v, field+".keys", "at least one public key file is required")
	}
	paths, err := tl.paths(keysNode, field+".keys", func(string) error { return nil })
	if err != nil {
		return err
	}
	items := keysNode.Content
	if keysNode.Kind != yaml.SequenceNode {
		items = []*yaml.Node{keysNode}
	}
	for j, real := range paths {
		name := items[j].Value
		if err := policy.CheckKey(name, real); err != nil {
			at := field + ".keys"
			if keysNode.Kind == yaml.SequenceNode {
				at = fmt.Sprintf("%s[%d]", at, j)
			}
			return tl.errAt(items[j], at, err.Error())
		}
		p.Keys = append(p.Keys, policy.Key{Name: name, Path: real})
	}
	p.RequireSignature = true
	return nil
}

// paths reads a list of host paths (a single string is a list of one),
// resolved inside the file's root; check runs on each resolved path.
func (tl *targetLoader) paths(v *yaml.Node, field string, check func(real string) error) ([]string, error) {
	items := []*yaml.Node{v}
	if v.Kind == yaml.SequenceNode {
		items = v.Content
	}
	var out []string
	for i, it := range items {
		at := field
		if v.Kind == yaml.SequenceNode {
			at = fmt.Sprintf("%s[%d]", field, i)
		}
		if it.Kind != yaml.ScalarNode || it.Tag != "!!str" {
			return nil, tl.errAt(it, at, "expected a file path")
		}
		real, err := tl.f.HostPath(it.Value)
		if err != nil {
			return nil, tl.errAt(it, at, err.Error())
		}
		if err := check(real); err != nil {
			if os.IsNotExist(err) {
				return nil, tl.errAt(it, at, fmt.Sprintf("%q: no such file or directory", it.Value))
			}
			return nil, tl.errAt(it, at, fmt.Sprintf("%q: %v", it.Value, err))
		}
		out = append(out, real)
	}
	return out, nil
}
