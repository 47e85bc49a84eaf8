package stack

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v4"

	"github.com/berth-dev/berth/internal/acmecheck"
	"github.com/berth-dev/berth/internal/spec"
)

// ACME is berth.yaml's acme: — where the stack's x-berth-proxy tls: auto
// hosts get their certificates: the file's top-level acme: with the
// selected environment's acme: keys over it, one by one; what neither
// sets comes from the daemon (--acme-*). ca_roots goes with its
// directory: an environment that names its own directory: takes
// ca_roots from its own block only, never the file's (which trusts
// another CA).
type ACME struct {
	Directory   string        `json:"directory,omitempty"` // https URL of the CA's ACME directory
	Email       string        `json:"email,omitempty"`     // the account's contact
	CARoots     string        `json:"ca_roots,omitempty"`  // the PEM file, absolute
	Challenge   string        `json:"challenge,omitempty"` // http-01 or tls-alpn-01
	RenewBefore time.Duration `json:"renew_before,omitempty"`
	// CARootsPEM is the content of CARoots, read and checked at load
	// time (what travels to the daemon: it may run elsewhere).
	CARootsPEM string `json:"-"`
}

// acmeKeys are the fields of acme:.
var acmeKeys = []string{"ca_roots", "challenge", "directory", "email", "renew_before"}

// stackACME reads the top-level acme: and, with envName, that
// environment's (both may be absent: nil), and merges them. lookup
// resolves ${VAR}s as in services.
func (b *berthDoc) stackACME(ex *expander, top map[string]*yaml.Node, envName string, lookup func(string) (string, bool)) (*ACME, error) {
	file, err := b.acmeBlock(ex, top["acme"], "acme", lookup)
	if err != nil || envName == "" {
		return file, err
	}
	envs := top["environments"]
	if envs == nil {
		return file, nil
	}
	envs, err = ex.copy(envs)
	if err != nil || envs.Kind != yaml.MappingNode {
		return file, err // environment() reported it
	}
	i := keyIndex(envs, envName)
	if i < 0 || envs.Content[i+1].Kind != yaml.MappingNode {
		return file, nil
	}
	env := envs.Content[i+1]
	j := keyIndex(env, "acme")
	if j < 0 {
		return file, nil
	}
	own, err := b.acmeBlock(ex, env.Content[j+1], "environments."+envName+".acme", lookup)
	if err != nil {
		return nil, err
	}
	return mergeACME(file, own), nil
}

// mergeACME puts env's keys over file's.
func mergeACME(file, env *ACME) *ACME {
	if env == nil || file == nil {
		return cmp.Or(env, file)
	}
	out := *file
	switch {
	case env.Directory != "":
		out.Directory, out.CARoots, out.CARootsPEM = env.Directory, env.CARoots, env.CARootsPEM
	case env.CARoots != "":
		out.CARoots, out.CARootsPEM = env.CARoots, env.CARootsPEM
	}
	if env.Email != "" {
		out.Email = env.Email
	}
	if env.Challenge != "" {
		out.Challenge = env.Challenge
	}
	if env.RenewBefore != 0 {
		out.RenewBefore = env.RenewBefore
	}
	return &out
}

// acmeBlock reads one acme: mapping at path (nil when absent or null).
// Each value is checked as the daemon's flag of the same name is: an
// https directory URL, a plain email address, a challenge type, a
// positive duration, and a ca_roots file inside the file's root that is
// a regular file of PEM certificates.
func (b *berthDoc) acmeBlock(ex *expander, n *yaml.Node, path string, lookup func(string) (string, bool)) (*ACME, error) {
	if n == nil {
		return nil, nil
	}
	n, err := ex.copy(n)
	if err != nil {
		return nil, b.errAt(n, path, err.Error())
	}
	if isNullNode(n) {
		return nil, nil
	}
	if n.Kind != yaml.MappingNode {
		return nil, b.errAt(n, path, "expected a mapping (directory:, email:, ca_roots:, challenge:, renew_before:)")
	}
	a := &ACME{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		field := path + "." + k.Value
		if !slices.Contains(acmeKeys, k.Value) {
			return nil, b.errAt(k, path, fmt.Sprintf("unknown field %q (fields: %s)", k.Value, strings.Join(acmeKeys, ", ")))
		}
		if isNullNode(v) {
			continue
		}
		if v.Kind != yaml.ScalarNode {
			return nil, b.errAt(v, field, "expected a string")
		}
		s, unset, err := spec.Interpolate(v.Value, lookup)
		if err != nil {
			return nil, b.errAt(v, field, err.Error())
		}
		if len(unset) > 0 {
			return nil, b.errAt(v, field, fmt.Sprintf("variable %q is not set (set it with --set %s=..., in the environment or under vars:)", unset[0], unset[0]))
		}
		switch k.Value {
		case "directory":
			err = acmecheck.Directory(s)
			a.Directory = s
		case "email":
			err = acmecheck.Email(s)
			a.Email = s
		case "challenge":
			err = acmecheck.Challenge(s)
			a.Challenge = s
		case "renew_before":
			a.RenewBefore, err = time.ParseDuration(s)
			if err != nil || a.RenewBefore <= 0 {
				err = fmt.Errorf("renew_before %q: want a positive duration such as 720h", s)
			}
		case "ca_roots":
			a.CARoots, a.CARootsPEM, err = b.acmeRoots(s)
		}
		if err != nil {
			return nil, b.errAt(v, field, err.Error())
		}
	}
	return a, nil
}

// acmeRoots resolves a ca_roots path inside the file's root and reads it.
func (b *berthDoc) acmeRoots(s string) (path, pem string, err error) {
	path, err = b.f.HostPath(s)
	if err != nil {
		return "", "", err
	}
	pem, err = acmecheck.ReadRoots(path)
	if err != nil {
		return "", "", fmt.Errorf("ca_roots %q: %w", s, err)
	}
	return path, pem, nil
}
