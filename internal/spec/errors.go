package spec

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Pos is a position in a berth.yaml or Dockerfile. Line and Column are
// 1-based; Column 0 means "the whole line" (Dockerfile errors).
type Pos struct {
	File         string
	Line, Column int
}

// String renders "berth.yaml:12:7", "Dockerfile:7" or just the file when the
// line is unknown, the form editors and terminals turn into links.
func (p Pos) String() string {
	s := p.File
	if p.Line > 0 {
		s += ":" + strconv.Itoa(p.Line)
		if p.Column > 0 {
			s += ":" + strconv.Itoa(p.Column)
		}
	}
	return s
}

// Error is one problem in a berth.yaml or Dockerfile: where it is, the dotted
// path of the offending value (empty for Dockerfiles) and what is wrong.
type Error struct {
	Pos  Pos
	Path string
	Msg  string
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Pos.String())
	b.WriteString(": ")
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// maxReported caps how many problems one error lists, so a badly broken or
// hostile file yields a readable message rather than megabytes of text.
const maxReported = 50

// Errors is every problem found in one file, in file order. Reporting them
// all at once (instead of the first only) saves edit-rerun cycles, e.g. for
// every unset variable.
type Errors []*Error

func (es Errors) Error() string {
	if len(es) == 1 {
		return es[0].Error()
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d problems:", len(es))
	for i, e := range es {
		if i == maxReported {
			fmt.Fprintf(&b, "\n  ... and %d more", len(es)-maxReported)
			break
		}
		b.WriteString("\n  ")
		b.WriteString(e.Error())
	}
	return b.String()
}

// sortErrors orders problems by position; the walk mostly follows the file
// already, but merge keys, aliases and late checks (cycles) do not.
func sortErrors(es Errors) {
	sort.SliceStable(es, func(i, j int) bool {
		a, b := es[i].Pos, es[j].Pos
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Column < b.Column
	})
}

// synonyms maps words people bring from other tools to berth's field names,
// for did-you-mean hints that edit distance alone would miss.
var synonyms = map[string]string{
	"source":      "src",
	"destination": "dest",
	"dst":         "dest",
	"environment": "env",
	"expose":      "ports",
	"image":       "from",
	"base":        "from",
	"workingdir":  "workdir",
	"label":       "labels",
	"volume":      "volumes",
	"port":        "ports",
	"command":     "cmd",
	"arch":        "platform",
	"permissions": "mode",
	"chmod":       "mode",
	"chown":       "owner",
	"user":        "users",
	"group":       "groups",
	"packages":    "debs",
	"key":         "keyring",
	"dist":        "suite",
	"variant":     "variants",
	"layer":       "layers",
}

// suggest returns the known field closest to an unknown one, or "" when none
// is close enough to be a plausible typo.
func suggest(unknown string, known []string) string {
	norm := func(s string) string {
		s = strings.ToLower(s)
		return strings.NewReplacer("_", "", "-", "").Replace(s)
	}
	u := norm(unknown)
	for _, k := range known {
		if norm(k) == u {
			return k
		}
	}
	if s, ok := synonyms[u]; ok {
		for _, k := range known {
			if k == s {
				return k
			}
		}
	}
	best, bestD := "", 3
	if len(u) <= 4 {
		bestD = 2
	}
	for _, k := range known {
		if d := editDistance(u, norm(k)); d < bestD {
			best, bestD = k, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between two short strings.
func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 1 << 30 // not a typo of a field name; avoid quadratic work
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// quoteList renders names for "known ones are: ..." messages.
func quoteList(names []string) string {
	if len(names) == 0 {
		return "(none)"
	}
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = strconv.Quote(n)
	}
	return strings.Join(q, ", ")
}
