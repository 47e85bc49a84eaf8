package spec

import (
	"fmt"
	"strings"
)

// Interpolate expands variables in s the way compose files do:
//
//	$$               a literal $
//	$NAME ${NAME}    the value ("" when unset: NAME is added to unset)
//	${NAME:-word}    word when NAME is unset or empty   (${NAME-word}: unset only)
//	${NAME:?msg}     an error with msg when unset or empty (${NAME?msg}: unset only)
//	${NAME:+word}    word when NAME is set and non-empty (${NAME+word}: set)
//
// The words may themselves contain expansions (${A:-${B}}); they are only
// expanded when used, so an unused default never reports its variables as
// unset. A "$" not followed by one of these forms is an error: silently
// keeping it would hide a typo, and "$$" is the way to write a literal "$".
//
// unset lists, once each in order of use, the variables that were used
// without a default and had no value; callers decide whether that is fatal.
func Interpolate(s string, lookup func(string) (string, bool)) (out string, unset []string, err error) {
	ip := &interpolator{lookup: lookup}
	out, err = ip.expand(s)
	return out, ip.unset, err
}

type interpolator struct {
	lookup func(string) (string, bool)
	unset  []string
	depth  int
}

// maxNesting bounds ${A:-${B:-...}} nesting so hostile input cannot exhaust
// the stack.
const maxNesting = 32

func (ip *interpolator) expand(s string) (string, error) {
	if !strings.Contains(s, "$") {
		return s, nil
	}
	ip.depth++
	defer func() { ip.depth-- }()
	if ip.depth > maxNesting {
		return "", fmt.Errorf("variables nested more than %d deep", maxNesting)
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		c := s[i]
		if c != '$' {
			b.WriteByte(c)
			i++
			continue
		}
		if i+1 >= len(s) {
			return "", fmt.Errorf("%q ends with a lone \"$\" (write \"$$\" for a literal \"$\")", s)
		}
		switch n := s[i+1]; {
		case n == '$':
			b.WriteByte('$')
			i += 2
		case n == '{':
			end, err := closingBrace(s, i+2)
			if err != nil {
				return "", err
			}
			v, err := ip.braced(s[i+2 : end])
			if err != nil {
				return "", err
			}
			b.WriteString(v)
			i = end + 1
		case isNameStart(n):
			j := i + 1
			for j < len(s) && isNameChar(s[j]) {
				j++
			}
			b.WriteString(ip.value(s[i+1 : j]))
			i = j
		default:
			return "", fmt.Errorf("invalid %q in %q (write \"$$\" for a literal \"$\")", s[i:i+2], s)
		}
	}
	return b.String(), nil
}

// closingBrace finds the "}" that ends the ${ opened just before start,
// skipping nested ${...} and $$.
func closingBrace(s string, start int) (int, error) {
	depth := 0
	for i := start; i < len(s); i++ {
		switch {
		case s[i] == '$' && i+1 < len(s) && s[i+1] == '$':
			i++
		case s[i] == '$' && i+1 < len(s) && s[i+1] == '{':
			depth++
			i++
		case s[i] == '}':
			if depth == 0 {
				return i, nil
			}
			depth--
		}
	}
	return 0, fmt.Errorf("unterminated \"${\" in %q", s)
}

// braced evaluates the inside of ${...}.
func (ip *interpolator) braced(expr string) (string, error) {
	j := 0
	if j < len(expr) && isNameStart(expr[j]) {
		j++
		for j < len(expr) && isNameChar(expr[j]) {
			j++
		}
	}
	name := expr[:j]
	if name == "" {
		return "", fmt.Errorf("invalid variable name in \"${%s}\"", expr)
	}
	rest := expr[j:]
	if rest == "" {
		return ip.value(name), nil
	}
	colon := strings.HasPrefix(rest, ":")
	if colon {
		rest = rest[1:]
	}
	if rest == "" || !strings.ContainsRune("-?+", rune(rest[0])) {
		return "", fmt.Errorf("invalid expression \"${%s}\": expected ${%s}, ${%s:-default}, ${%s:?message} or ${%s:+value}", expr, name, name, name, name)
	}
	op, word := rest[0], rest[1:]
	v, ok := ip.lookup(name)
	present := ok && (!colon || v != "")
	switch op {
	case '-':
		if present {
			return v, nil
		}
		return ip.expand(word)
	case '+':
		if present {
			return ip.expand(word)
		}
		return "", nil
	default: // '?'
		if present {
			return v, nil
		}
		msg, err := ip.expand(word)
		if err != nil {
			return "", err
		}
		if msg == "" {
			if colon {
				msg = "must be set and non-empty"
			} else {
				msg = "must be set"
			}
		}
		return "", &RequiredError{Name: name, Message: msg}
	}
}

// value looks a variable up, recording it as unset when it has no value.
func (ip *interpolator) value(name string) string {
	if v, ok := ip.lookup(name); ok {
		return v
	}
	for _, u := range ip.unset {
		if u == name {
			return ""
		}
	}
	ip.unset = append(ip.unset, name)
	return ""
}

// RequiredError is a failed ${NAME:?message}.
type RequiredError struct {
	Name, Message string
}

func (e *RequiredError) Error() string {
	return fmt.Sprintf("variable %q is required: %s", e.Name, e.Message)
}

func isNameStart(c byte) bool {
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}

func isNameChar(c byte) bool {
	return isNameStart(c) || (c >= '0' && c <= '9')
}

// validVarName reports whether s can be used as ${s}.
func validVarName(s string) bool {
	if s == "" || !isNameStart(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if !isNameChar(s[i]) {
			return false
		}
	}
	return true
}
