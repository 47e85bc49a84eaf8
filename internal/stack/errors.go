package stack

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v4"

	"github.com/berth-dev/berth/internal/spec"
)

// sources remembers the YAML trees fed to compose-go, so that its errors —
// which name a file and a dotted path, or only a path, or only a value —
// can be turned into "file:line:col: path: message".
type sources struct {
	order  []string
	roots  map[string]*yaml.Node // by the file name compose-go sees
	names  map[string]string     // file name for messages
	prefix map[string]string     // path of the document inside the file ("environments.prod.")
}

func newSources() *sources {
	return &sources{roots: map[string]*yaml.Node{}, names: map[string]string{}, prefix: map[string]string{}}
}

// add registers a compose file read from disk. Its YAML syntax errors come
// back here, named by line, before compose-go (which reports some of them
// without the file) sees it.
func (s *sources) add(file, display string, data []byte) error {
	var doc yaml.Node
	var root *yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return yamlSyntaxError(display, err)
	}
	if doc.Kind == yaml.DocumentNode && len(doc.Content) > 0 {
		root = doc.Content[0]
	}
	s.addNode(file, display, root)
	return nil
}

// yamlSyntaxError turns "yaml: line 4: did not find expected key" into
// "compose.yaml:4: invalid YAML: did not find expected key".
func yamlSyntaxError(display string, err error) error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	pos := spec.Pos{File: display}
	if l := reYAMLLine.FindAllStringSubmatchIndex(msg, -1); l != nil {
		last := l[len(l)-1]
		pos.Line, _ = strconv.Atoi(msg[last[2]:last[3]])
		if last[4] >= 0 {
			pos.Column, _ = strconv.Atoi(msg[last[4]:last[5]])
		}
		rest := strings.TrimLeft(msg[last[1]:], ": ")
		if rest != "" {
			msg = rest
		}
	}
	return &spec.Error{Pos: pos, Msg: "invalid YAML: " + msg}
}

// addNode registers a document built in memory (from berth.yaml's nodes,
// which keep their original lines).
func (s *sources) addNode(file, display string, root *yaml.Node) {
	s.order = append(s.order, file)
	s.roots[file] = root
	s.names[file] = display
	if _, frag, ok := strings.Cut(file, "#"); ok {
		s.prefix[file] = frag + "."
	}
}

var (
	reValidating  = regexp.MustCompile(`(?s)^validating (.+?): (\S*) (.+)$`)
	reAdditional  = regexp.MustCompile(`^additional properties? (.+) not allowed$`)
	reParse       = regexp.MustCompile(`(?s)^failed to parse (.+?): (.+)$`)
	reYAMLLine    = regexp.MustCompile(`line (\d+)(?:, column (\d+))?`)
	reInterpolate = regexp.MustCompile(`(?s)^error while interpolating (\S+): (.+)$`)
	reDecoding    = regexp.MustCompile(`'([^']+)' (.+)`)
	reBadValue    = regexp.MustCompile(`(?i)^invalid (host ?port|container ?port|proto(?:col)?|ip address|port(?: range)?)[^:]*: (.+)$`)
	reCycle       = regexp.MustCompile(`dependency cycle detected: (\S+)`)
	reService     = regexp.MustCompile(`service "([^"]+)"`)
)

// explain rewrites a compose-go error to name the file, line and field.
func (s *sources) explain(err error) error {
	var se *spec.Error
	var ses spec.Errors
	if errors.As(err, &se) || errors.As(err, &ses) {
		return err
	}
	var fe *fieldError
	if errors.As(err, &fe) {
		return s.anywhere(bracketsToDots(fe.Path), fe.Path, fe.Msg)
	}
	msg := strings.TrimSpace(err.Error())
	msg = strings.TrimSuffix(msg, ": invalid compose project")
	msg = strings.TrimPrefix(msg, "decoding failed due to the following error(s):\n\n")

	if m := reValidating.FindStringSubmatch(msg); m != nil {
		file, path, what := m[1], m[2], m[3]
		if what == "false schema" {
			parent, field := splitLast(path)
			return s.at(file, path, parent, fmt.Sprintf("unknown field %q", field))
		}
		if a := reAdditional.FindStringSubmatch(what); a != nil {
			fields := strings.Split(a[1], ", ")
			loc := path
			if len(fields) > 0 {
				loc = joinPath(path, strings.Trim(fields[0], "'"))
			}
			return s.at(file, loc, path, "unknown field "+strings.ReplaceAll(a[1], "'", `"`))
		}
		return s.at(file, path, path, what)
	}
	if m := reParse.FindStringSubmatch(msg); m != nil {
		return yamlSyntaxError(s.display(m[1]), errors.New(m[2]))
	}
	if m := reInterpolate.FindStringSubmatch(msg); m != nil {
		return s.anywhere(m[1], m[1], m[2])
	}
	if m := reDecoding.FindStringSubmatch(msg); m != nil {
		path := bracketsToDots(m[1])
		return s.anywhere(path, path, m[2])
	}
	if m := reBadValue.FindStringSubmatch(msg); m != nil {
		if file, path, n := s.findValue(strings.TrimSpace(m[2])); n != nil {
			return s.errNode(file, n, path, msg)
		}
	}
	if m := reCycle.FindStringSubmatch(msg); m != nil {
		return s.anywhere("services."+m[1]+".depends_on", "services."+m[1]+".depends_on", msg)
	}
	if m := reService.FindStringSubmatch(msg); m != nil {
		return s.anywhere("services."+m[1], "services."+m[1], msg)
	}
	if len(s.order) > 0 {
		return &spec.Error{Pos: spec.Pos{File: s.names[s.order[0]]}, Msg: msg}
	}
	return errors.New(msg)
}

func (s *sources) display(file string) string {
	if d, ok := s.names[file]; ok {
		return d
	}
	return file
}

// at builds the error for a known file: locate the node at loc, report path.
func (s *sources) at(file, loc, path, msg string) error {
	root, ok := s.roots[file]
	if !ok {
		return s.anywhere(loc, path, msg)
	}
	n, _ := locate(root, loc)
	if n == nil {
		return &spec.Error{Pos: spec.Pos{File: s.display(file)}, Path: s.prefix[file] + path, Msg: msg}
	}
	return s.errNode(file, n, s.prefix[file]+path, msg)
}

// anywhere builds the error for a path whose file compose-go did not say:
// the file where the path goes deepest (the last one on a tie, as later
// files override earlier ones).
func (s *sources) anywhere(loc, path, msg string) error {
	best, bestDepth := "", -1
	var bestNode *yaml.Node
	for _, f := range s.order {
		n, depth := locate(s.roots[f], loc)
		if n != nil && depth >= bestDepth {
			best, bestDepth, bestNode = f, depth, n
		}
	}
	if bestNode == nil {
		if len(s.order) == 0 {
			return fmt.Errorf("%s: %s", path, msg)
		}
		return &spec.Error{Pos: spec.Pos{File: s.names[s.order[0]]}, Path: path, Msg: msg}
	}
	return s.errNode(best, bestNode, s.prefix[best]+path, msg)
}

func (s *sources) errNode(file string, n *yaml.Node, path, msg string) error {
	return &spec.Error{Pos: spec.Pos{File: s.display(file), Line: n.Line, Column: n.Column}, Path: strings.TrimSuffix(path, "."), Msg: msg}
}

// findValue finds a scalar under services.*.ports equal to (or containing)
// v, for errors that only quote the bad value ("invalid hostPort: abc").
func (s *sources) findValue(v string) (string, string, *yaml.Node) {
	for _, f := range s.order {
		root := s.roots[f]
		if root == nil || root.Kind != yaml.MappingNode {
			continue
		}
		svcsVal := valueOf(root, "services")
		if svcsVal == nil || svcsVal.Kind != yaml.MappingNode {
			continue
		}
		for i := 0; i+1 < len(svcsVal.Content); i += 2 {
			ports := valueOf(svcsVal.Content[i+1], "ports")
			if ports == nil {
				continue
			}
			base := "services." + svcsVal.Content[i].Value + ".ports"
			if n, p := findScalar(ports, v, base); n != nil {
				return f, p, n
			}
		}
	}
	return "", "", nil
}

func findScalar(n *yaml.Node, v, path string) (*yaml.Node, string) {
	switch n.Kind {
	case yaml.ScalarNode:
		if n.Value == v || strings.Contains(n.Value, v) {
			return n, path
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			if r, p := findScalar(c, v, fmt.Sprintf("%s[%d]", path, i)); r != nil {
				return r, p
			}
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			if r, p := findScalar(n.Content[i+1], v, path+"."+n.Content[i].Value); r != nil {
				return r, p
			}
		}
	}
	return nil, ""
}

// locate walks a dotted path ("services.web.ports.0", "[]" stops the walk)
// and returns the deepest node reached — the key node for a mapping entry,
// so a message points at the field's name — and how many parts matched.
func locate(root *yaml.Node, path string) (*yaml.Node, int) {
	if root == nil {
		return nil, 0
	}
	cur := root
	var at *yaml.Node = root
	depth := 0
	for _, part := range strings.Split(path, ".") {
		if part == "" {
			continue
		}
		for cur != nil && cur.Kind == yaml.AliasNode {
			cur = cur.Alias
		}
		if cur == nil {
			break
		}
		switch cur.Kind {
		case yaml.MappingNode:
			i := keyIndex(cur, part)
			if i < 0 {
				return at, depth
			}
			at, cur = cur.Content[i], cur.Content[i+1]
		case yaml.SequenceNode:
			idx, err := strconv.Atoi(strings.Trim(part, "[]"))
			if err != nil || idx < 0 || idx >= len(cur.Content) {
				return at, depth
			}
			at, cur = cur.Content[idx], cur.Content[idx]
		default:
			return at, depth
		}
		depth++
	}
	return at, depth
}

func valueOf(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	if i := keyIndex(m, key); i >= 0 {
		return m.Content[i+1]
	}
	return nil
}

func splitLast(path string) (string, string) {
	if i := strings.LastIndex(path, "."); i >= 0 {
		return path[:i], path[i+1:]
	}
	return "", path
}

func joinPath(a, b string) string {
	if a == "" {
		return b
	}
	return a + "." + b
}

var reBracket = regexp.MustCompile(`\[([^\]]+)\]`)

// bracketsToDots turns mapstructure's "services[web].healthcheck" into
// "services.web.healthcheck".
func bracketsToDots(p string) string {
	return reBracket.ReplaceAllString(p, ".$1")
}
