package stack

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/compose-spec/compose-go/v2/loader"
	"go.yaml.in/yaml/v4"

	"github.com/berth-dev/berth/internal/policy"
	"github.com/berth-dev/berth/internal/registry/names"
	"github.com/berth-dev/berth/internal/spec"
)

// environmentKeys are the fields of an entry of berth.yaml's environments:.
var environmentKeys = []string{"acme", "kubernetes", "policy", "registry", "repository", "services", "vars"}

// unknownEnvironmentKey returns the first key of env that is not an
// environment field, or nil. A misspelt key (registy:) silently ignored
// would send images to the wrong place.
func unknownEnvironmentKey(env *yaml.Node) *yaml.Node {
	for i := 0; i+1 < len(env.Content); i += 2 {
		if !slices.Contains(environmentKeys, env.Content[i].Value) {
			return env.Content[i]
		}
	}
	return nil
}

func unknownEnvironmentKeyMsg(key string) string {
	return fmt.Sprintf("unknown field %q (fields: %s)", key, strings.Join(environmentKeys, ", "))
}

// Target is where an environment's images live: image IMAGE of images: is
// Registry/Repository/IMAGE. Registry is "" when the environment has no
// registry: (it cannot be pushed to or promoted from).
type Target struct {
	Env        string
	Registry   string // host[:port]
	Repository string // path prefix; default: the project name
	// Policy is the environment's policy: (nil: none), what deploy, ship
	// and promote check an image against before it goes there.
	Policy *policy.Policy
	// Kubernetes is the environment's cluster (kubernetes:; nil: none).
	Kubernetes *Kubernetes
}

// Ref returns the reference of image with tag in the target. A tag that is
// a digest (sha256:...) gives a digest reference.
func (t Target) Ref(image, tag string) string {
	ref := t.Registry + "/" + t.Repository + "/" + image
	if strings.Contains(tag, ":") {
		return ref + "@" + tag
	}
	return ref + ":" + tag
}

// LoadTargets reads the registry targets of every environment of the
// berth.yaml at path ("" : the first file LoadOptions.Files names, or the
// default file of the current directory). registry: and repository: take
// ${VAR}s like the rest of the file, looked up in --set, the process
// environment, the environment's vars: and berth.yaml's vars:, in that
// order.
func LoadTargets(path string, o LoadOptions) (map[string]Target, error) {
	if path == "" {
		files, err := findFiles(o.Files, o.lookupEnv)
		if err != nil {
			return nil, err
		}
		path = files[0]
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	data, err := os.ReadFile(abs)
	if err != nil {
		return nil, err
	}
	f, err := spec.LoadBytes(abs, data, spec.LoadOptions{Set: o.Set, LookupEnv: o.LookupEnv})
	if err != nil {
		return nil, err
	}
	file := displayName(abs)
	project := o.ProjectName
	if project == "" {
		project = loader.NormalizeProjectName(filepath.Base(f.Dir))
	}
	targets := map[string]Target{}
	if f.Environments == nil || isNullNode(f.Environments) {
		return targets, nil
	}
	ex := &expander{budget: maxNodes}
	envs, err := ex.copy(f.Environments)
	if err != nil {
		return nil, &spec.Error{Pos: spec.Pos{File: file, Line: f.Environments.Line, Column: f.Environments.Column}, Path: "environments", Msg: err.Error()}
	}
	if envs.Kind != yaml.MappingNode {
		return nil, &spec.Error{Pos: spec.Pos{File: file, Line: envs.Line, Column: envs.Column}, Path: "environments", Msg: "expected a mapping of environment names to their settings"}
	}
	tl := &targetLoader{file: file, f: f, o: o}
	for i := 0; i+1 < len(envs.Content); i += 2 {
		name := envs.Content[i].Value
		t, err := tl.target(name, envs.Content[i+1], project)
		if err != nil {
			return nil, err
		}
		targets[name] = t
	}
	return targets, nil
}

// KnownEnvironments lists the names of targets, sorted, for messages.
func KnownEnvironments(targets map[string]Target) string {
	if len(targets) == 0 {
		return "berth.yaml has no environments:"
	}
	return "known: " + strings.Join(sortedKeys(targets), ", ")
}

type targetLoader struct {
	file string
	f    *spec.File
	o    LoadOptions
}

func (tl *targetLoader) errAt(n *yaml.Node, path, msg string) error {
	return &spec.Error{Pos: spec.Pos{File: tl.file, Line: n.Line, Column: n.Column}, Path: path, Msg: msg}
}

func (tl *targetLoader) target(name string, env *yaml.Node, project string) (Target, error) {
	path := "environments." + name
	t := Target{Env: name, Repository: project}
	if isNullNode(env) {
		return t, tl.checkRepository(t, env, path, true)
	}
	if env.Kind != yaml.MappingNode {
		return t, tl.errAt(env, path, "expected a mapping (acme:, kubernetes:, policy:, registry:, repository:, services:, vars:)")
	}
	if k := unknownEnvironmentKey(env); k != nil {
		return t, tl.errAt(k, path, unknownEnvironmentKeyMsg(k.Value))
	}
	pol, err := tl.policy(env, path)
	if err != nil {
		return t, err
	}
	t.Policy = pol
	lookup := tl.lookup(name, env)
	if t.Kubernetes, err = tl.kubernetes(env, path, lookup); err != nil {
		return t, err
	}
	value := func(key string) (string, *yaml.Node, error) {
		i := keyIndex(env, key)
		if i < 0 || isNullNode(env.Content[i+1]) {
			return "", nil, nil
		}
		n := env.Content[i+1]
		if n.Kind != yaml.ScalarNode {
			return "", n, tl.errAt(n, path+"."+key, "expected a string")
		}
		s, err := lookup.interpolate(n.Value)
		if err != nil {
			return "", n, tl.errAt(n, path+"."+key, err.Error())
		}
		return s, n, nil
	}
	reg, regNode, err := value("registry")
	if err != nil {
		return t, err
	}
	if regNode != nil {
		if err := validateRegistryHost(reg); err != nil {
			return t, tl.errAt(regNode, path+".registry", err.Error())
		}
		t.Registry = reg
	}
	repo, repoNode, err := value("repository")
	if err != nil {
		return t, err
	}
	if repoNode != nil {
		t.Repository = strings.Trim(repo, "/")
		return t, tl.checkRepository(t, repoNode, path, false)
	}
	return t, tl.checkRepository(t, env, path, true)
}

// checkRepository validates the repository prefix; a defaulted one (the
// project name) can be invalid only because of the directory's name, which
// the message says.
func (tl *targetLoader) checkRepository(t Target, n *yaml.Node, path string, defaulted bool) error {
	// "x" stands for the image name: the prefix must make a valid
	// repository with one more component.
	err := names.ValidateRepository(t.Repository + "/x")
	if err == nil {
		return nil
	}
	if defaulted {
		return tl.errAt(n, path, fmt.Sprintf("the default repository %q (the project name) is not a valid repository path; set %s.repository (%v)", t.Repository, path, err))
	}
	return tl.errAt(n, path+".repository", fmt.Sprintf("%q is not a valid repository path: lower-case components of [a-z0-9] with '.', '_', '__' or '-' between, separated by '/' (e.g. team/app)", t.Repository))
}

// envLookup resolves variables for one environment's values.
type envLookup struct {
	tl   *targetLoader
	vars [][2]string // the environment's vars:, raw, in file order
	done map[string]string
	path string
}

func (tl *targetLoader) lookup(name string, env *yaml.Node) *envLookup {
	l := &envLookup{tl: tl, path: "environments." + name + ".vars"}
	if vi := keyIndex(env, "vars"); vi >= 0 {
		vn := env.Content[vi+1]
		if vn.Kind == yaml.MappingNode {
			for i := 0; i+1 < len(vn.Content); i += 2 {
				if vn.Content[i+1].Kind == yaml.ScalarNode {
					l.vars = append(l.vars, [2]string{vn.Content[i].Value, vn.Content[i+1].Value})
				}
			}
		}
	}
	return l
}

// interpolate expands s with the precedence --set > process environment >
// environment vars: > berth.yaml vars:. The environment's vars are
// evaluated (in order, each seeing the ones above it) only when used, so an
// unrelated broken var does not fail a promotion.
func (l *envLookup) interpolate(s string) (string, error) {
	if !strings.Contains(s, "$") {
		return s, nil
	}
	if l.done == nil {
		if err := l.evalVars(); err != nil {
			return "", err
		}
	}
	out, unset, err := spec.Interpolate(s, l.get)
	if err != nil {
		return "", err
	}
	if len(unset) > 0 {
		return "", fmt.Errorf("variable %q is not set (set it with --set %s=..., in the environment or under vars:, or write ${%s:-default})", unset[0], unset[0], unset[0])
	}
	return out, nil
}

func (l *envLookup) evalVars() error {
	l.done = map[string]string{}
	for _, kv := range l.vars {
		if _, ok := l.outer(kv[0]); ok {
			continue
		}
		v, _, err := spec.Interpolate(kv[1], l.get)
		if err != nil {
			return fmt.Errorf("%s.%s: %v", l.path, kv[0], err)
		}
		l.done[kv[0]] = v
	}
	return nil
}

// outer is --set and the process environment, which beat every vars:.
func (l *envLookup) outer(name string) (string, bool) {
	if v, ok := l.tl.o.Set[name]; ok {
		return v, true
	}
	return l.tl.o.lookupEnv(name)
}

func (l *envLookup) get(name string) (string, bool) {
	if v, ok := l.outer(name); ok {
		return v, true
	}
	if v, ok := l.done[name]; ok {
		return v, true
	}
	v, ok := l.tl.f.Vars[name]
	return v, ok
}

var hostLabelRE = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?$`)

// validateRegistryHost accepts host[:port]: a DNS name, an IPv4 address or
// a bracketed IPv6 address, and an optional port 1-65535.
func validateRegistryHost(s string) error {
	bad := func(why string) error {
		return fmt.Errorf("%q is not host[:port] (%s), e.g. registry.example.com or 127.0.0.1:5000", s, why)
	}
	if s == "" {
		return bad("empty")
	}
	if strings.Contains(s, "://") {
		return bad("no scheme: plain HTTP is used for loopback hosts, HTTPS otherwise")
	}
	if strings.ContainsAny(s, "/?#@ ") {
		return bad("no path: put it in repository:")
	}
	host := s
	if h, port, err := net.SplitHostPort(s); err == nil {
		p, perr := strconv.Atoi(port)
		if perr != nil || p < 1 || p > 65535 {
			return bad("port " + strconv.Quote(port) + " is not 1-65535")
		}
		host = h
		if strings.HasPrefix(s, "[") {
			if net.ParseIP(host) == nil {
				return bad("invalid IPv6 address")
			}
			return nil
		}
	} else if strings.Contains(s, ":") {
		if strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]") && net.ParseIP(s[1:len(s)-1]) != nil {
			return nil
		}
		return bad("invalid port or unbracketed IPv6 address")
	}
	if net.ParseIP(host) != nil {
		return nil
	}
	if len(host) > 253 {
		return bad("host name longer than 253 characters")
	}
	for _, label := range strings.Split(host, ".") {
		if !hostLabelRE.MatchString(label) || len(label) > 63 {
			return bad("invalid host name")
		}
	}
	return nil
}
