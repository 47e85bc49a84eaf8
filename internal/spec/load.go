package spec

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// LoadOptions supplies the values variables can take besides vars:.
type LoadOptions struct {
	// Set holds --set KEY=VALUE pairs; they win over everything.
	Set map[string]string
	// LookupEnv reads the environment, which wins over vars: entries of the
	// same name. Nil means os.LookupEnv.
	LookupEnv func(string) (string, bool)
}

// topFields are berth.yaml's top-level keys.
var topFields = []string{"vars", "context", "repositories", "images", "services", "environments", "volumes", "secrets", "configs", "networks"}

// Load reads and validates the berth.yaml at path. Problems come back as
// Errors (every one found, each with file:line:col and field path); an
// unreadable file comes back as the os error.
func Load(path string, o LoadOptions) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return LoadBytes(path, data, o)
}

// LoadBytes is Load for content already in memory; path names the file in
// messages and anchors relative paths (its directory need not contain it).
func LoadBytes(path string, data []byte, o LoadOptions) (*File, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	for k := range o.Set {
		if !validVarName(k) {
			return nil, fmt.Errorf("--set %s=...: invalid variable name %q (letters, digits and '_', not starting with a digit)", k, k)
		}
	}
	f := &File{
		Path:    abs,
		Dir:     filepath.Dir(abs),
		Vars:    map[string]string{},
		Images:  map[string]*Image{},
		Context: filepath.Dir(abs),
	}
	d := &decoder{file: path, budget: nodeBudget}
	root, err := parseYAML(path, data)
	if err != nil {
		return nil, err
	}
	if root != nil {
		l := &loader{d: d, f: f, o: o}
		l.top(root)
	}
	if len(d.errs) > 0 {
		sortErrors(d.errs)
		return nil, d.errs
	}
	return f, nil
}

var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// parseYAML returns the document's root node, nil for an empty document.
func parseYAML(path string, data []byte) (*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		return nil, yamlError(path, data, err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return nil, Errors{{Pos: Pos{File: path, Line: extra.Line, Column: extra.Column}, Msg: "more than one YAML document (---); berth.yaml holds exactly one"}}
	} else if !errors.Is(err, io.EOF) {
		return nil, yamlError(path, data, err)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return nil, nil
	}
	return doc.Content[0], nil
}

// yamlError turns "yaml: line 3: did not find ..." into "berth.yaml:3: did
// not find ...", the same shape as every other error.
func yamlError(path string, data []byte, err error) error {
	msg := err.Error()
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		text := "invalid YAML: " + m[2]
		// ${VAR} unquoted inside [...] or {...}: its braces are YAML
		// flow syntax, a trap worth naming.
		if lines := strings.Split(string(data), "\n"); strings.Contains(m[2], "did not find expected") &&
			line >= 1 && line <= len(lines) && strings.Contains(lines[line-1], "${") {
			text += flowHint
		}
		return Errors{{Pos: Pos{File: path, Line: line}, Msg: text}}
	}
	text := "invalid YAML: " + strings.TrimPrefix(msg, "yaml: ")
	if strings.Contains(msg, "did not find expected") && bytes.Contains(data, []byte("${")) {
		text += flowHint
	}
	return Errors{{Pos: Pos{File: path}, Msg: text}}
}

const flowHint = ` (quote values that contain ${...} inside [...] or {...}: "${VAR}")`

// loader holds the state of one Load.
type loader struct {
	d *decoder
	f *File
	o LoadOptions
}

func (l *loader) env(name string) (string, bool) {
	if l.o.LookupEnv != nil {
		return l.o.LookupEnv(name)
	}
	return os.LookupEnv(name)
}

func (l *loader) top(root *yaml.Node) {
	d := l.d
	if isNull(root) {
		return
	}
	fs, ok := d.fieldsExt(root, "", true, topFields...)
	if !ok {
		return
	}
	// Precedence: --set, then the environment, then vars:. While vars: is
	// evaluated f.Vars only holds the entries above the current one, which
	// is what makes "earlier vars only" hold.
	d.lookup = func(name string) (string, bool) {
		if v, ok := l.o.Set[name]; ok {
			return v, true
		}
		if v, ok := l.env(name); ok {
			return v, true
		}
		v, ok := l.f.Vars[name]
		return v, ok
	}
	l.vars(fs["vars"])
	d.laterVars = nil
	if n := fs["context"]; n != nil {
		l.context(n)
	}
	l.repositories(fs["repositories"])
	l.images(fs["images"])
	if n := fs["services"]; n != nil {
		l.f.Services = d.resolve(n, "services")
	}
	if n := fs["environments"]; n != nil {
		l.f.Environments = d.resolve(n, "environments")
	}
	// The stack's compose-format top-level sections belong with services:
	// kept raw for internal/stack, which validates them.
	for _, k := range []string{"volumes", "secrets", "configs", "networks"} {
		if n := fs[k]; n != nil {
			if l.f.Compose == nil {
				l.f.Compose = map[string]*yaml.Node{}
			}
			l.f.Compose[k] = d.resolve(n, k)
		}
	}
}

// vars evaluates vars: in order. An entry named in --set or the environment
// takes that value as is; otherwise its value is interpolated against --set,
// the environment and the entries above it.
func (l *loader) vars(n *yaml.Node) {
	d := l.d
	ps := d.pairs(n, "vars")
	d.laterVars = map[string]bool{}
	for _, p := range ps {
		d.laterVars[p.key] = true
	}
	for _, p := range ps {
		path := join("vars", p.key)
		delete(d.laterVars, p.key)
		if !validVarName(p.key) {
			d.errf(p.kNode, path, "invalid variable name %q: letters, digits and '_', not starting with a digit", p.key)
			continue
		}
		if v, ok := l.o.Set[p.key]; ok {
			l.f.Vars[p.key] = v
			continue
		}
		if v, ok := l.env(p.key); ok {
			l.f.Vars[p.key] = v
			continue
		}
		if v, ok := d.str(p.value, path); ok {
			l.f.Vars[p.key] = v
		}
	}
	for k, v := range l.o.Set {
		l.f.Vars[k] = v
	}
}

func (l *loader) context(n *yaml.Node) {
	d := l.d
	s, ok := d.str(n, "context")
	if !ok {
		return
	}
	if s == "" {
		d.errf(n, "context", "must not be empty (omit it to use the directory of %s)", filepath.Base(l.f.Path))
		return
	}
	dir := s
	if !filepath.IsAbs(dir) {
		dir = filepath.Join(l.f.Dir, dir)
	}
	dir = filepath.Clean(dir)
	st, err := os.Stat(dir)
	switch {
	case err != nil:
		d.errf(n, "context", "%q: %v", s, errors.Unwrap(err))
		return
	case !st.IsDir():
		d.errf(n, "context", "%q is not a directory", s)
		return
	}
	l.f.Context = dir
}

var repoFields = []string{"name", "url", "suite", "components", "keyring"}

func (l *loader) repositories(n *yaml.Node) {
	d := l.d
	seen := map[string]Pos{}
	for i, item := range d.seq(n, "repositories") {
		path := index("repositories", i)
		fs, ok := d.fields(item, path, repoFields...)
		if !ok {
			continue
		}
		r := Repository{Pos: d.pos(d.resolve(item, path)), Components: []string{"main"}}
		good := true
		if fs["name"] == nil {
			d.errf(item, path, "missing field \"name\"")
			good = false
		} else if s, ok := d.str(fs["name"], join(path, "name")); ok {
			if err := checkName("repository", s); err != nil {
				d.errf(fs["name"], join(path, "name"), "%v", err)
				good = false
			} else if prev, dup := seen[s]; dup {
				d.errf(fs["name"], join(path, "name"), "repository %q is already defined at %s", s, prev)
				good = false
			}
			r.Name = s
		}
		if fs["url"] == nil {
			d.errf(item, path, "missing field \"url\"")
		} else if s, ok := d.str(fs["url"], join(path, "url")); ok {
			if err := checkRepoURL(s); err != nil {
				d.errf(fs["url"], join(path, "url"), "%v", err)
			}
			r.URL = s
		}
		if fs["suite"] == nil {
			d.errf(item, path, "missing field \"suite\" (e.g. bookworm)")
		} else if s, ok := d.str(fs["suite"], join(path, "suite")); ok {
			if s == "" || strings.ContainsAny(s, " \t") {
				d.errf(fs["suite"], join(path, "suite"), "invalid suite %q", s)
			}
			r.Suite = s
		}
		if c := fs["components"]; c != nil {
			if list, ok := d.strList(c, join(path, "components")); ok {
				if len(list) == 0 {
					d.errf(c, join(path, "components"), "must list at least one component (e.g. [main])")
				}
				for j, comp := range list {
					if comp == "" || strings.ContainsAny(comp, " \t") {
						d.errf(itemNode(c, j), index(join(path, "components"), j), "invalid component %q", comp)
					}
				}
				r.Components = list
			}
		}
		if k := fs["keyring"]; k != nil {
			if s, ok := d.str(k, join(path, "keyring")); ok {
				if s == "" {
					d.errf(k, join(path, "keyring"), "must not be empty (omit it to skip signature verification)")
				} else if filepath.IsAbs(s) {
					r.Keyring = filepath.Clean(s)
				} else {
					r.Keyring = filepath.Join(l.f.Dir, s)
				}
			}
		}
		if good && r.Name != "" {
			seen[r.Name] = r.Pos
		}
		l.f.Repositories = append(l.f.Repositories, r)
	}
}

func checkRepoURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("invalid URL %q: %v", s, err)
	}
	switch u.Scheme {
	case "http", "https":
		if u.Host == "" {
			return fmt.Errorf("invalid URL %q: missing host", s)
		}
	case "file":
		if u.Path == "" || !strings.HasPrefix(u.Path, "/") {
			return fmt.Errorf("invalid URL %q: file URLs need an absolute path (file:///srv/debian)", s)
		}
	default:
		return fmt.Errorf("invalid URL %q: scheme must be http, https or file", s)
	}
	return nil
}

// repoNames lists defined repository names, sorted, for messages.
func (l *loader) repoNames() []string {
	var names []string
	for _, r := range l.f.Repositories {
		names = append(names, r.Name)
	}
	sort.Strings(names)
	return names
}
