package spec

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v4"
)

// decoder walks yaml.Nodes by hand instead of yaml.Unmarshal into structs:
// that is what lets every error carry the line, column and dotted path, lets
// unknown fields get a did-you-mean, and lets each string be interpolated
// before it is typed (uid: ${UID}).
type decoder struct {
	file string
	errs Errors
	// lookup resolves ${NAME}; nil while vars: itself is decoded with its
	// own lookup.
	lookup func(string) (string, bool)
	// laterVars names vars: entries not yet defined, for a better hint
	// when an earlier one refers to them.
	laterVars map[string]bool
	// budget bounds how many nodes (after alias expansion) are visited, so
	// a "billion laughs" document fails instead of exhausting memory.
	budget int
}

const (
	nodeBudget = 1_000_000
	maxDepth   = 64
)

func (d *decoder) pos(n *yaml.Node) Pos {
	if n == nil {
		return Pos{File: d.file}
	}
	return Pos{File: d.file, Line: n.Line, Column: n.Column}
}

func (d *decoder) errf(n *yaml.Node, path, format string, args ...any) {
	d.errs = append(d.errs, &Error{Pos: d.pos(n), Path: path, Msg: fmt.Sprintf(format, args...)})
}

// resolve follows aliases (*name) to the anchored node and charges the
// visit against the budget. It returns nil when the budget is spent.
func (d *decoder) resolve(n *yaml.Node, path string) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode; i++ {
		if i > maxDepth {
			d.errf(n, path, "alias chain too long")
			return nil
		}
		n = n.Alias
	}
	d.budget--
	if d.budget < 0 {
		if d.budget == -1 {
			d.errf(n, path, "document too large after expanding aliases")
		}
		return nil
	}
	return n
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			return "null"
		case "!!int", "!!float":
			return "a number"
		case "!!bool":
			return "a boolean"
		}
		return "a string"
	}
	return "an unsupported node"
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// pair is one key/value of a mapping, keys already checked to be scalars.
type pair struct {
	key   string
	kNode *yaml.Node
	value *yaml.Node
}

// pairs returns a mapping's entries in file order with YAML merge keys
// (<<: *anchor) expanded, reporting duplicate keys. A null value counts as an
// empty mapping (a section with everything commented out).
func (d *decoder) pairs(n *yaml.Node, path string) []pair {
	return d.pairsDepth(n, path, 0)
}

func (d *decoder) pairsDepth(n *yaml.Node, path string, depth int) []pair {
	n = d.resolve(n, path)
	if n == nil || isNull(n) {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		d.errf(n, path, "expected a mapping, got %s", kindName(n))
		return nil
	}
	if depth > maxDepth {
		d.errf(n, path, "merge keys nested too deep")
		return nil
	}
	explicit := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		if k.Kind == yaml.ScalarNode && k.ShortTag() != "!!merge" {
			explicit[k.Value] = true
		}
	}
	var out []pair
	seen := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.AliasNode {
			k = d.resolve(k, path)
			if k == nil {
				return out
			}
		}
		if k.Kind != yaml.ScalarNode {
			d.errf(k, path, "keys must be strings, got %s", kindName(k))
			continue
		}
		if k.ShortTag() == "!!merge" {
			// Explicit keys win over merged ones; among merged sources
			// the first wins (YAML merge key spec).
			for _, src := range d.mergeSources(v, path) {
				for _, p := range d.pairsDepth(src, path, depth+1) {
					if explicit[p.key] || seen[p.key] != nil {
						continue
					}
					seen[p.key] = p.kNode
					out = append(out, p)
				}
			}
			continue
		}
		if prev := seen[k.Value]; prev != nil && explicit[k.Value] {
			d.errf(k, join(path, k.Value), "duplicate key (first defined at line %d)", prev.Line)
			continue
		}
		seen[k.Value] = k
		out = append(out, pair{key: k.Value, kNode: k, value: v})
	}
	return out
}

func (d *decoder) mergeSources(v *yaml.Node, path string) []*yaml.Node {
	v = d.resolve(v, path)
	if v == nil {
		return nil
	}
	switch v.Kind {
	case yaml.MappingNode:
		return []*yaml.Node{v}
	case yaml.SequenceNode:
		return v.Content
	}
	d.errf(v, path, "merge key (<<) needs a mapping or a list of mappings, got %s", kindName(v))
	return nil
}

// fields decodes a mapping with a fixed set of field names: unknown ones are
// reported with a did-you-mean, and the result maps name → value node.
func (d *decoder) fields(n *yaml.Node, path string, known ...string) (map[string]*yaml.Node, bool) {
	return d.fieldsExt(n, path, false, known...)
}

// fieldsExt is fields that, when extensions is set, also accepts and
// ignores "x-" keys: compose's extension fields, the usual home of anchors
// (x-common: &common ...).
func (d *decoder) fieldsExt(n *yaml.Node, path string, extensions bool, known ...string) (map[string]*yaml.Node, bool) {
	r := d.resolve(n, path)
	if r == nil {
		return nil, false
	}
	if r.Kind != yaml.MappingNode {
		d.errf(r, path, "expected a mapping with fields %s, got %s", strings.Join(known, ", "), kindName(r))
		return nil, false
	}
	out := map[string]*yaml.Node{}
	for _, p := range d.pairs(r, path) {
		if extensions && strings.HasPrefix(p.key, "x-") {
			continue
		}
		if !slices.Contains(known, p.key) {
			msg := fmt.Sprintf("unknown field %q", p.key)
			if s := suggest(p.key, known); s != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", s)
			} else {
				sorted := append([]string(nil), known...)
				sort.Strings(sorted)
				msg += " (known fields: " + strings.Join(sorted, ", ") + ")"
			}
			d.errf(p.kNode, path, "%s", msg)
			continue
		}
		out[p.key] = p.value
	}
	return out, true
}

// seq returns a list's items; null counts as an empty list.
func (d *decoder) seq(n *yaml.Node, path string) []*yaml.Node {
	n = d.resolve(n, path)
	if n == nil || isNull(n) {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		d.errf(n, path, "expected a list, got %s", kindName(n))
		return nil
	}
	return n.Content
}

// scalar returns the raw text of a scalar. Numbers and booleans are accepted
// as their text as written (version: 1.10 stays "1.10", yes stays "yes"), so
// YAML's implicit typing never silently changes a value.
func (d *decoder) scalar(n *yaml.Node, path string) (*yaml.Node, string, bool) {
	r := d.resolve(n, path)
	if r == nil {
		return nil, "", false
	}
	if r.Kind != yaml.ScalarNode || isNull(r) {
		d.errf(r, path, "expected a string, got %s", kindName(r))
		return r, "", false
	}
	return r, r.Value, true
}

// str returns a scalar's text with variables interpolated.
func (d *decoder) str(n *yaml.Node, path string) (string, bool) {
	r, s, ok := d.scalar(n, path)
	if !ok {
		return "", false
	}
	return d.interpolate(r, path, s)
}

func (d *decoder) interpolate(n *yaml.Node, path, s string) (string, bool) {
	if !strings.Contains(s, "$") {
		return s, true
	}
	out, unset, err := Interpolate(s, d.lookup)
	if err != nil {
		d.errf(n, path, "%v", err)
		return "", false
	}
	for _, name := range unset {
		hint := fmt.Sprintf("set it with --set %s=..., in the environment or under vars:, or write ${%s:-default}", name, name)
		if d.laterVars[name] {
			hint = fmt.Sprintf("vars: defines %s further down; a variable can only use the ones above it", name)
		}
		d.errf(n, path, "variable %q is not set (%s)", name, hint)
	}
	return out, len(unset) == 0
}

// strList decodes a list of strings. A lone string is an error with a hint,
// not a one-element list: for entrypoint/cmd, guessing how to split it is
// exactly the shell-form ambiguity berth avoids.
func (d *decoder) strList(n *yaml.Node, path string) ([]string, bool) {
	r := d.resolve(n, path)
	if r == nil {
		return nil, false
	}
	if r.Kind == yaml.ScalarNode && !isNull(r) {
		hint := fmt.Sprintf("write [%s]", r.Value)
		if f := strings.Fields(r.Value); len(f) > 1 {
			hint = fmt.Sprintf("write one item per argument, [%s], or [/bin/sh, -c, %q] to run it through a shell", strings.Join(f, ", "), r.Value)
		}
		d.errf(r, path, "expected a list of strings, got %s (%s)", kindName(r), hint)
		return nil, false
	}
	items := d.seq(r, path)
	out := make([]string, 0, len(items))
	ok := true
	for i, it := range items {
		s, good := d.str(it, index(path, i))
		ok = ok && good
		out = append(out, s)
	}
	return out, ok
}

// strMap decodes a mapping of strings (labels, annotations, vars).
func (d *decoder) strMap(n *yaml.Node, path string) (map[string]string, bool) {
	r := d.resolve(n, path)
	if r == nil {
		return nil, false
	}
	out := map[string]string{}
	ok := true
	for _, p := range d.pairs(r, path) {
		v, good := d.str(p.value, join(path, p.key))
		ok = ok && good
		out[p.key] = v
	}
	return out, ok
}

// integer decodes a whole number in [lo, hi]; strings are accepted so that
// interpolated values (uid: ${UID}) work.
func (d *decoder) integer(n *yaml.Node, path string, lo, hi int64) (int64, bool) {
	s, ok := d.str(n, path)
	if !ok {
		return 0, false
	}
	v, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil {
		d.errf(n, path, "expected a whole number, got %q", s)
		return 0, false
	}
	if v < lo || v > hi {
		d.errf(n, path, "%d is out of range [%d, %d]", v, lo, hi)
		return 0, false
	}
	return v, true
}

func (d *decoder) boolean(n *yaml.Node, path string) (bool, bool) {
	s, ok := d.str(n, path)
	if !ok {
		return false, false
	}
	switch s {
	case "true":
		return true, true
	case "false":
		return false, true
	}
	d.errf(n, path, "expected true or false, got %q", s)
	return false, false
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func index(path string, i int) string {
	return path + "[" + strconv.Itoa(i) + "]"
}

// itemNode returns the i-th item of a list node (following aliases) for
// pointing an error at it, or the list itself when that is not possible.
func itemNode(n *yaml.Node, i int) *yaml.Node {
	r := n
	for j := 0; r != nil && r.Kind == yaml.AliasNode && j <= maxDepth; j++ {
		r = r.Alias
	}
	if r == nil || r.Kind != yaml.SequenceNode || i >= len(r.Content) {
		return n
	}
	return r.Content[i]
}
