package stack

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/template"
	"github.com/compose-spec/compose-go/v2/types"
	"go.yaml.in/yaml/v4"

	"github.com/berth-dev/berth/internal/spec"
)

// composeKeys are berth.yaml's top-level keys that are compose's: they go to
// compose-go as one compose document.
var composeKeys = []string{"services", "volumes", "secrets", "configs", "networks"}

// Extension keys carrying a berth build (build: IMAGE) through compose-go,
// whose schema has no place for it but keeps x- keys.
const (
	extBuildImage   = "x-berth-image"
	extBuildVariant = "x-berth-variant"
)

// maxNodes bounds alias expansion, so a billion-laughs file fails cleanly.
const maxNodes = 200000

// loadBerth loads berth.yaml's services through compose-go: the compose
// keys as the base document and, with --env, the environment's services as
// an override document merged the way compose merges override files.
func loadBerth(ctx context.Context, path string, o LoadOptions) (*Stack, []Warning, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	name := displayName(path)
	root, err := parseRoot(name, data)
	if err != nil {
		return nil, nil, err
	}
	top := map[string]*yaml.Node{}
	topKeys := map[string]*yaml.Node{}
	if root != nil {
		for i := 0; i+1 < len(root.Content); i += 2 {
			top[root.Content[i].Value] = root.Content[i+1]
			topKeys[root.Content[i].Value] = root.Content[i]
		}
	}

	f, err := spec.LoadBytes(path, data, spec.LoadOptions{Set: o.Set, LookupEnv: o.LookupEnv})
	if err != nil {
		return nil, nil, err
	}
	if top["services"] == nil || isNullNode(top["services"]) {
		return nil, nil, &spec.Error{Pos: spec.Pos{File: name}, Msg: "no services: to run (berth.yaml needs a services: section, in compose format)"}
	}

	ex := &expander{budget: maxNodes}
	b := &berthDoc{f: f, file: name}
	base := &yaml.Node{Kind: yaml.MappingNode}
	for _, k := range composeKeys {
		n := top[k]
		if n == nil {
			continue
		}
		c, err := ex.copy(n)
		if err != nil {
			return nil, nil, b.errAt(n, k, err.Error())
		}
		if k == "services" {
			if err := b.services(c, "services"); err != nil {
				return nil, nil, err
			}
		}
		base.Content = append(base.Content, topKeys[k], c)
	}

	// Variables: --set, then the process environment, then the selected
	// environment's vars:, then berth.yaml's vars:. spec already resolved
	// vars: against --set and the environment.
	inputs := [][]byte{data}
	env := o.environ(inputs...)
	for k, v := range f.Vars {
		env[k] = v
	}
	src := newSources()
	src.addNode(path, name, base)
	details := types.ConfigDetails{
		WorkingDir:  f.Dir,
		ConfigFiles: []types.ConfigFile{{Filename: path}},
	}
	if o.Env != "" {
		override, envVars, err := b.environment(ex, top["environments"], o.Env)
		if err != nil {
			return nil, nil, err
		}
		for _, kv := range envVars {
			if _, set := o.Set[kv[0]]; set {
				continue
			}
			if _, set := o.lookupEnv(kv[0]); set {
				continue
			}
			v, err := template.Substitute(kv[1], func(n string) (string, bool) { v, ok := env[n]; return v, ok })
			if err != nil {
				return nil, nil, &spec.Error{Pos: spec.Pos{File: name}, Path: "environments." + o.Env + ".vars." + kv[0], Msg: err.Error()}
			}
			env[kv[0]] = v
		}
		if override != nil {
			ovName := path + "#environments." + o.Env
			src.addNode(ovName, name, override)
			details.ConfigFiles = append(details.ConfigFiles, types.ConfigFile{Filename: ovName})
		}
	}
	for k, v := range o.Set {
		env[k] = v
	}
	for i := range details.ConfigFiles {
		content, err := yaml.Marshal(src.roots[details.ConfigFiles[i].Filename])
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %v", name, err)
		}
		details.ConfigFiles[i].Content = content
	}
	details.Environment = env

	projectName := o.ProjectName
	if projectName == "" {
		projectName = loader.NormalizeProjectName(filepath.Base(f.Dir))
	}
	check := newSupportCheck()
	project, err := loader.LoadWithContext(ctx, details, func(lo *loader.Options) {
		lo.SetProjectName(projectName, true)
		lo.ResolvePaths = true
		lo.Profiles = o.Profiles
		// berth.yaml is one file: include: would pull in files berth
		// does not track.
		lo.SkipInclude = true
	}, check.option())
	if err != nil {
		return nil, nil, src.explain(err)
	}
	lookup := func(n string) (string, bool) {
		if v, ok := env[n]; ok {
			return v, true
		}
		return o.lookupEnv(n)
	}
	st, warns, err := finish(project, []string{path}, check, lookup, src)
	if err != nil {
		return nil, nil, err
	}
	if st.ACME, err = b.stackACME(ex, top, o.Env, lookup); err != nil {
		return nil, nil, err
	}
	return st, warns, nil
}

func parseRoot(name string, data []byte) (*yaml.Node, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, &spec.Error{Pos: spec.Pos{File: name}, Msg: "invalid YAML: " + strings.TrimPrefix(err.Error(), "yaml: ")}
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return nil, nil
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, &spec.Error{Pos: spec.Pos{File: name, Line: root.Line, Column: root.Column}, Msg: "expected a mapping at the top of the file"}
	}
	return root, nil
}

// berthDoc rewrites berth.yaml's services into compose services.
type berthDoc struct {
	f    *spec.File
	file string
}

func (b *berthDoc) errAt(n *yaml.Node, path, msg string) error {
	return &spec.Error{Pos: spec.Pos{File: b.file, Line: n.Line, Column: n.Column}, Path: path, Msg: msg}
}

// services rewrites the berth-only service fields in place: replicas: N
// becomes deploy.replicas and build: IMAGE (an image of images:) becomes a
// build carrying the image name in an extension key.
func (b *berthDoc) services(n *yaml.Node, path string) error {
	if n.Kind != yaml.MappingNode {
		return nil // compose-go's schema check reports the wrong type
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		svc := n.Content[i+1]
		if svc.Kind != yaml.MappingNode {
			continue
		}
		sp := path + "." + n.Content[i].Value
		if err := b.replicas(svc, sp); err != nil {
			return err
		}
		if err := b.build(svc, sp); err != nil {
			return err
		}
	}
	return nil
}

func (b *berthDoc) replicas(svc *yaml.Node, path string) error {
	ri := keyIndex(svc, "replicas")
	if ri < 0 {
		return nil
	}
	k, v := svc.Content[ri], svc.Content[ri+1]
	svc.Content = append(svc.Content[:ri:ri], svc.Content[ri+2:]...)
	di := keyIndex(svc, "deploy")
	if di < 0 {
		svc.Content = append(svc.Content,
			&yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: "deploy", Line: k.Line, Column: k.Column},
			&yaml.Node{Kind: yaml.MappingNode, Line: k.Line, Column: k.Column})
		di = len(svc.Content) - 2
	}
	deploy := svc.Content[di+1]
	if deploy.Kind != yaml.MappingNode {
		return nil // schema check reports it
	}
	if keyIndex(deploy, "replicas") >= 0 {
		return b.errAt(k, path+".replicas", "replicas and deploy.replicas are both set; keep one")
	}
	deploy.Content = append(deploy.Content,
		&yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: "replicas", Line: k.Line, Column: k.Column}, v)
	return nil
}

// build turns `build: NAME` (NAME an image of images:), `build: {image:
// NAME, variant: V}` or `build: {berth: NAME}` into a compose build with
// the image in extension keys. Any other build: is compose's (a Dockerfile
// context).
func (b *berthDoc) build(svc *yaml.Node, path string) error {
	bi := keyIndex(svc, "build")
	if bi < 0 {
		return nil
	}
	k, v := svc.Content[bi], svc.Content[bi+1]
	path += ".build"
	var img, variant string
	var imgNode *yaml.Node
	switch v.Kind {
	case yaml.ScalarNode:
		if _, ok := b.f.Images[v.Value]; !ok {
			return nil // a directory: compose semantics
		}
		img, imgNode = v.Value, v
	case yaml.MappingNode:
		ii := keyIndex(v, "image")
		if ii < 0 {
			ii = keyIndex(v, "berth")
		}
		if ii < 0 {
			return nil
		}
		for i := 0; i+1 < len(v.Content); i += 2 {
			switch key := v.Content[i].Value; key {
			case "image", "berth":
				img, imgNode = v.Content[i+1].Value, v.Content[i+1]
			case "variant":
				variant = v.Content[i+1].Value
			default:
				return b.errAt(v.Content[i], path, fmt.Sprintf("unknown field %q in a berth image build (fields: image, variant)", key))
			}
		}
		im, ok := b.f.Images[img]
		if !ok {
			return b.errAt(imgNode, path+".image", fmt.Sprintf("no image %q in images: (known: %s)", img, strings.Join(sortedKeys(b.f.Images), ", ")))
		}
		if variant != "" {
			if _, ok := im.Variants[variant]; !ok {
				return b.errAt(v, path+".variant", fmt.Sprintf("image %q has no variant %q (known: %s)", img, variant, strings.Join(sortedKeys(im.Variants), ", ")))
			}
		}
	default:
		return nil
	}
	str := func(s string) *yaml.Node {
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s, Line: imgNode.Line, Column: imgNode.Column}
	}
	m := &yaml.Node{Kind: yaml.MappingNode, Line: v.Line, Column: v.Column,
		Content: []*yaml.Node{str("context"), str("."), str(extBuildImage), str(img)}}
	if variant != "" {
		m.Content = append(m.Content, str(extBuildVariant), str(variant))
	}
	svc.Content[bi] = k
	svc.Content[bi+1] = m
	return nil
}

// environment returns the override document of environment envName (nil
// when it has no services:) and its vars in file order. registry: and
// repository: are read by LoadTargets; any other key is an error.
func (b *berthDoc) environment(ex *expander, envs *yaml.Node, envName string) (*yaml.Node, [][2]string, error) {
	var known []string
	var env *yaml.Node
	if envs != nil && envs.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(envs.Content); i += 2 {
			known = append(known, envs.Content[i].Value)
			if envs.Content[i].Value == envName {
				env = envs.Content[i+1]
			}
		}
	}
	if env == nil {
		sort.Strings(known)
		list := "berth.yaml has no environments:"
		if len(known) > 0 {
			list = "known: " + strings.Join(known, ", ")
		}
		return nil, nil, &spec.Error{Pos: spec.Pos{File: b.file}, Path: "environments", Msg: fmt.Sprintf("unknown environment %q (%s)", envName, list)}
	}
	env, err := ex.copy(env)
	if err != nil {
		return nil, nil, b.errAt(envs, "environments."+envName, err.Error())
	}
	path := "environments." + envName
	if isNullNode(env) {
		return nil, nil, nil
	}
	if env.Kind != yaml.MappingNode {
		return nil, nil, b.errAt(env, path, "expected a mapping (acme:, kubernetes:, policy:, registry:, repository:, services:, vars:)")
	}
	if k := unknownEnvironmentKey(env); k != nil {
		return nil, nil, b.errAt(k, path, unknownEnvironmentKeyMsg(k.Value))
	}
	var vars [][2]string
	if vi := keyIndex(env, "vars"); vi >= 0 {
		vn := env.Content[vi+1]
		if !isNullNode(vn) {
			if vn.Kind != yaml.MappingNode {
				return nil, nil, b.errAt(vn, path+".vars", "expected a mapping of NAME: value")
			}
			for i := 0; i+1 < len(vn.Content); i += 2 {
				k, v := vn.Content[i], vn.Content[i+1]
				if !varNameRE.MatchString(k.Value) {
					return nil, nil, b.errAt(k, path+".vars", fmt.Sprintf("invalid variable name %q: letters, digits and '_', not starting with a digit", k.Value))
				}
				if v.Kind != yaml.ScalarNode {
					return nil, nil, b.errAt(v, path+".vars."+k.Value, "expected a string")
				}
				vars = append(vars, [2]string{k.Value, v.Value})
			}
		}
	}
	si := keyIndex(env, "services")
	if si < 0 || isNullNode(env.Content[si+1]) {
		return nil, vars, nil
	}
	svcs := env.Content[si+1]
	if svcs.Kind != yaml.MappingNode {
		return nil, nil, b.errAt(svcs, path+".services", "expected a mapping of service names to overrides")
	}
	// An override naming a service the file does not define is a typo,
	// not a new service.
	var defined []string
	if s, ok := b.baseServices(); ok {
		defined = s
	}
	for i := 0; i+1 < len(svcs.Content); i += 2 {
		if !slices.Contains(defined, svcs.Content[i].Value) {
			return nil, nil, b.errAt(svcs.Content[i], path+".services", fmt.Sprintf("no service %q in services: (known: %s)", svcs.Content[i].Value, strings.Join(defined, ", ")))
		}
	}
	if err := b.services(svcs, path+".services"); err != nil {
		return nil, nil, err
	}
	doc := &yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{env.Content[si], svcs}}
	return doc, vars, nil
}

// baseServices lists the service names of berth.yaml, sorted.
func (b *berthDoc) baseServices() ([]string, bool) {
	if b.f.Services == nil || b.f.Services.Kind != yaml.MappingNode {
		return nil, false
	}
	var names []string
	for i := 0; i+1 < len(b.f.Services.Content); i += 2 {
		names = append(names, b.f.Services.Content[i].Value)
	}
	sort.Strings(names)
	return names, true
}

// expander deep-copies YAML nodes with aliases replaced by copies of their
// targets, so a document built from pieces of berth.yaml stands alone
// (its anchors may live under keys compose-go never sees).
type expander struct{ budget int }

func (e *expander) copy(n *yaml.Node) (*yaml.Node, error) {
	return e.copyDepth(n, 0)
}

func (e *expander) copyDepth(n *yaml.Node, depth int) (*yaml.Node, error) {
	e.budget--
	if e.budget < 0 {
		return nil, fmt.Errorf("document too large after expanding aliases")
	}
	if depth > 200 {
		return nil, fmt.Errorf("document nested too deeply")
	}
	if n.Kind == yaml.AliasNode {
		if n.Alias == nil {
			return nil, fmt.Errorf("alias *%s has no anchor", n.Value)
		}
		return e.copyDepth(n.Alias, depth+1)
	}
	c := *n
	c.Anchor = ""
	c.Content = nil
	for _, child := range n.Content {
		cc, err := e.copyDepth(child, depth+1)
		if err != nil {
			return nil, err
		}
		c.Content = append(c.Content, cc)
	}
	return &c, nil
}

func keyIndex(m *yaml.Node, key string) int {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return i
		}
	}
	return -1
}

func isNullNode(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.Tag == "!!null"
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
