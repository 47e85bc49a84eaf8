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

	"go.yaml.in/yaml/v4"
)

// LoadOptions supplies the values variables can take besides vars:.
type LoadOptions struct {
	// Set holds --set KEY=VALUE pairs; they win over everything.
	Set map[string]string
	// LookupEnv reads the environment, which wins over vars: entries of the
	// same name. Nil means os.LookupEnv.
	LookupEnv func(string) (string, bool)
	// Root is the directory the file may read from (berth build --context
	// DIR), and the context when the file has no context:. "" means the
	// file's own directory. Nothing the file names may resolve outside it.
	Root string
}

// topFields are berth.yaml's top-level keys.
// acme: belongs to the stack (internal/stack reads it); builds ignore it.
var topFields = []string{"vars", "context", "repositories", "images", "services", "environments", "acme", "volumes", "secrets", "configs", "networks"}

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
		Path:   abs,
		Dir:    filepath.Dir(abs),
		Vars:   map[string]string{},
		Images: map[string]*Image{},
	}
	if o.Root != "" {
		if f.Root, err = RealRoot(o.Root); err != nil {
			return nil, fmt.Errorf("--context %s: %w", o.Root, errors.Unwrap(err))
		}
	} else if f.Root, err = realPath(f.Dir); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	f.Context = f.Root
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

// yamlError turns the parser's "yaml: while parsing a block mapping at
// line 2, column 3: line 3, column 4: did not find expected key" into
// "berth.yaml:3:4: invalid YAML: did not find expected key", the same shape
// as every other error: the last position named is where the parser found
// the problem, and the words after it say what the problem is.
func yamlError(path string, data []byte, err error) error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	pos := Pos{File: path}
	if all := yamlPosRE.FindAllStringSubmatchIndex(msg, -1); all != nil {
		last := all[len(all)-1]
		if last[2] >= 0 {
			pos.Line, _ = strconv.Atoi(msg[last[2]:last[3]])
		}
		if last[4] >= 0 {
			pos.Column, _ = strconv.Atoi(msg[last[4]:last[5]])
		}
		if rest := msg[last[1]:]; rest != "" {
			msg = rest
		}
	}
	text := "invalid YAML: " + msg
	// ${VAR} unquoted inside [...] or {...}: its braces are YAML flow
	// syntax, a trap worth naming.
	if strings.Contains(msg, "did not find expected") {
		lines := strings.Split(string(data), "\n")
		if pos.Line >= 1 && pos.Line <= len(lines) && strings.Contains(lines[pos.Line-1], "${") ||
			pos.Line == 0 && bytes.Contains(data, []byte("${")) {
			text += flowHint
		}
	}
	return Errors{{Pos: pos, Msg: text}}
}

// yamlPosRE matches the positions in the parser's messages: "line 3: ",
// "line 3, column 4: " or "<unknown position>: ".
var yamlPosRE = regexp.MustCompile(`(?:line (\d+)(?:, column (\d+))?|<unknown position>): `)

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
	real, ok, err := insideRoot(l.f.Root, dir)
	if err != nil {
		d.errf(n, "context", "%q: %v", s, err)
		return
	}
	if !ok {
		d.errf(n, "context", "%q resolves to %s, outside %s; %s", s, real, l.rootName(), widenHint)
		return
	}
	l.f.Context = real
}

// widenHint tells how a user who trusts the file lets it read elsewhere.
const widenHint = "a berth.yaml reads only inside its directory unless `berth build --context DIR` names a wider one"

// rootName describes the root for messages.
func (l *loader) rootName() string {
	if l.o.Root != "" {
		return fmt.Sprintf("the --context directory %s", l.f.Root)
	}
	return fmt.Sprintf("the directory of %s (%s)", filepath.Base(l.f.Path), l.f.Root)
}

// hostPath resolves a path the file names on the build host (relative to
// the file's directory) and refuses it outside the root. It reports the
// problem on n and returns "" then.
func (l *loader) hostPath(n *yaml.Node, field, s string) string {
	p := s
	if !filepath.IsAbs(p) {
		p = filepath.Join(l.f.Dir, p)
	}
	p = filepath.Clean(p)
	real, ok, err := insideRoot(l.f.Root, p)
	if err != nil {
		l.d.errf(n, field, "%q: %v", s, err)
		return ""
	}
	if !ok {
		l.d.errf(n, field, "%q resolves to %s, outside %s; %s", s, real, l.rootName(), widenHint)
		return ""
	}
	return p
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
			} else {
				l.localRepository(fs["url"], join(path, "url"), s)
			}
			r.URL = s
		}
		if fs["suite"] == nil {
			d.errf(item, path, "missing field \"suite\" (e.g. bookworm)")
		} else if s, ok := d.str(fs["suite"], join(path, "suite")); ok {
			if s == "" || strings.ContainsAny(s, " \t") || hasDotDot(s) {
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
					if comp == "" || strings.ContainsAny(comp, " \t") || hasDotDot(comp) {
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
				} else {
					r.Keyring = l.keyring(k, join(path, "keyring"), s)
				}
			}
		}
		if good && r.Name != "" {
			seen[r.Name] = r.Pos
		}
		l.f.Repositories = append(l.f.Repositories, r)
	}
}

// localRepository checks a file:// repository: it must lie inside the root,
// or be the local repository the operator named in $BERTH_APT_URL (the
// environment is the operator's, not the file's). Otherwise a berth.yaml
// could read a host directory laid out as an apt repository.
func (l *loader) localRepository(n *yaml.Node, field, s string) {
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "file" {
		return
	}
	real, err := realPath(filepath.Clean(u.Path))
	if err != nil {
		l.d.errf(n, field, "%q: %v", s, err)
		return
	}
	if within(l.f.Root, real) {
		return
	}
	if op, ok := l.env("BERTH_APT_URL"); ok {
		if ou, err := url.Parse(op); err == nil && ou.Scheme == "file" && ou.Path != "" {
			if trusted, err := realPath(filepath.Clean(ou.Path)); err == nil && within(trusted, real) {
				return
			}
		}
	}
	l.d.errf(n, field, "%q resolves to %s, outside %s (a local repository elsewhere must be the one $BERTH_APT_URL names); %s", s, real, l.rootName(), widenHint)
}

// systemKeyrings are where Debian and apt keep public keyrings: a keyring
// there is public data, so naming one reads nothing secret.
var systemKeyrings = []string{"/usr/share/keyrings", "/etc/apt/trusted.gpg.d", "/etc/apt/keyrings"}

// keyring resolves a keyring path: inside the root, or a system keyring.
func (l *loader) keyring(n *yaml.Node, field, s string) string {
	p := s
	if !filepath.IsAbs(p) {
		p = filepath.Join(l.f.Dir, p)
	}
	p = filepath.Clean(p)
	real, err := realPath(p)
	if err != nil {
		l.d.errf(n, field, "%q: %v", s, err)
		return ""
	}
	if within(l.f.Root, real) {
		return p
	}
	for _, dir := range systemKeyrings {
		if within(dir, real) && real != dir {
			return p
		}
	}
	l.d.errf(n, field, "%q resolves to %s, outside %s and the system keyring directories (%s); %s", s, real, l.rootName(), strings.Join(systemKeyrings, ", "), widenHint)
	return ""
}

// hasDotDot reports whether a slash path has a ".." element (a suite or
// component climbing out of the repository's dists/).
func hasDotDot(s string) bool {
	for _, el := range strings.Split(s, "/") {
		if el == ".." {
			return true
		}
	}
	return false
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
