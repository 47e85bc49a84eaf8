package spec

import (
	"encoding/json"
	"fmt"
	"strings"
	"unicode"
)

// Dockerfile lexing: parser directives, comments, line continuations, words,
// quotes and $VAR substitution, following the Dockerfile reference.

// instruction is one logical Dockerfile line.
type instruction struct {
	cmd  string // upper case: "COPY"
	rest string // everything after the keyword, continuation lines joined
	line int    // 1-based line of the keyword
}

// lexDockerfile splits a Dockerfile into instructions. It returns the escape
// character chosen by an "# escape=" directive (default '\').
func lexDockerfile(data string) ([]instruction, byte, error) {
	data = strings.TrimPrefix(data, "\ufeff")
	lines := strings.Split(strings.ReplaceAll(data, "\r\n", "\n"), "\n")
	escape := byte('\\')
	i := 0
	// Parser directives: "# key=value" lines at the very top; the first
	// other line (even a blank one or a plain comment) ends them.
	seen := map[string]bool{}
	for ; i < len(lines); i++ {
		k, v, ok := directive(lines[i])
		if !ok || seen[k] {
			break
		}
		seen[k] = true
		if k == "escape" {
			switch v {
			case "\\":
				escape = '\\'
			case "`":
				escape = '`'
			default:
				return nil, 0, fmt.Errorf("%d: invalid escape directive %q: must be \\ or `", i+1, v)
			}
		}
		// Other directives (syntax, check) select BuildKit frontends and
		// lint settings, which do not apply here.
	}
	var out []instruction
	for i < len(lines) {
		line := lines[i]
		trimmed := strings.TrimLeftFunc(line, unicode.IsSpace)
		if trimmed == "" || trimmed[0] == '#' {
			i++
			continue
		}
		start := i + 1
		var b strings.Builder
		for {
			body := strings.TrimRightFunc(line, unicode.IsSpace)
			cont := strings.HasSuffix(body, string(escape))
			if cont {
				body = body[:len(body)-1]
			} else {
				body = line
			}
			b.WriteString(body)
			i++
			if !cont {
				break
			}
			// Comment and blank lines inside a continued instruction are
			// dropped, as Docker does.
			for i < len(lines) {
				t := strings.TrimLeftFunc(lines[i], unicode.IsSpace)
				if t == "" || t[0] == '#' {
					i++
					continue
				}
				break
			}
			if i >= len(lines) {
				break
			}
			line = lines[i]
		}
		text := strings.TrimLeftFunc(b.String(), unicode.IsSpace)
		kw, rest := text, ""
		if j := strings.IndexFunc(text, unicode.IsSpace); j >= 0 {
			kw, rest = text[:j], text[j:]
		}
		out = append(out, instruction{cmd: strings.ToUpper(kw), rest: strings.TrimSpace(rest), line: start})
	}
	return out, escape, nil
}

// directive parses "# key=value" (key case-insensitive).
func directive(line string) (key, value string, ok bool) {
	t := strings.TrimSpace(line)
	if !strings.HasPrefix(t, "#") {
		return "", "", false
	}
	k, v, found := strings.Cut(strings.TrimSpace(t[1:]), "=")
	k = strings.ToLower(strings.TrimSpace(k))
	if !found || k == "" || strings.ContainsFunc(k, unicode.IsSpace) {
		return "", "", false
	}
	return k, strings.TrimSpace(v), true
}

// splitWords splits on whitespace outside quotes, keeping quotes and escapes
// in the words for expandWord to process.
func splitWords(s string, escape byte) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	var quote byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			cur.WriteByte(c)
			if c == escape && quote == '"' && i+1 < len(s) {
				i++
				cur.WriteByte(s[i])
			} else if c == quote {
				quote = 0
			}
		case c == escape && i+1 < len(s):
			cur.WriteByte(c)
			i++
			cur.WriteByte(s[i])
			inWord = true
		case c == '\'' || c == '"':
			quote = c
			cur.WriteByte(c)
			inWord = true
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("unterminated %c quote", quote)
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}

// expander substitutes variables and removes quotes in Dockerfile words.
type expander struct {
	escape byte
	lookup func(string) (string, bool)
}

func (e *expander) word(s string) (string, error) {
	return e.expand(s, 0)
}

func (e *expander) expand(s string, depth int) (string, error) {
	if depth > maxNesting {
		return "", fmt.Errorf("variables nested more than %d deep", maxNesting)
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == e.escape:
			if i+1 < len(s) {
				b.WriteByte(s[i+1])
				i += 2
			} else {
				i++
			}
		case c == '\'':
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				return "", fmt.Errorf("unterminated ' quote")
			}
			b.WriteString(s[i+1 : i+1+j])
			i += j + 2
		case c == '"':
			i++
			closed := false
			for i < len(s) {
				c := s[i]
				if c == '"' {
					closed = true
					i++
					break
				}
				// Inside double quotes the escape character only escapes
				// '"', '$' and itself; otherwise it is kept.
				if c == e.escape && i+1 < len(s) && (s[i+1] == '"' || s[i+1] == '$' || s[i+1] == e.escape) {
					b.WriteByte(s[i+1])
					i += 2
					continue
				}
				if c == '$' {
					v, n, err := e.dollar(s[i:], depth)
					if err != nil {
						return "", err
					}
					b.WriteString(v)
					i += n
					continue
				}
				b.WriteByte(c)
				i++
			}
			if !closed {
				return "", fmt.Errorf("unterminated \" quote")
			}
		case c == '$':
			v, n, err := e.dollar(s[i:], depth)
			if err != nil {
				return "", err
			}
			b.WriteString(v)
			i += n
		default:
			b.WriteByte(c)
			i++
		}
	}
	return b.String(), nil
}

// dollar expands the $ expression at the start of s and returns how many
// bytes it used. A "$" not starting a variable stays literal, as in Docker.
func (e *expander) dollar(s string, depth int) (string, int, error) {
	if len(s) < 2 {
		return "$", 1, nil
	}
	if isNameStart(s[1]) {
		j := 2
		for j < len(s) && isNameChar(s[j]) {
			j++
		}
		v, _ := e.lookup(s[1:j])
		return v, j, nil
	}
	if s[1] != '{' {
		return "$", 1, nil
	}
	end, err := closingBrace(s, 2)
	if err != nil {
		return "", 0, fmt.Errorf("unterminated ${ in %q", s)
	}
	expr := s[2:end]
	j := 0
	for j < len(expr) && isNameChar(expr[j]) {
		j++
	}
	name, rest := expr[:j], expr[j:]
	if name == "" || !isNameStart(name[0]) {
		return "", 0, fmt.Errorf("invalid variable name in ${%s}", expr)
	}
	v, ok := e.lookup(name)
	if rest == "" {
		return v, end + 1, nil
	}
	colon := strings.HasPrefix(rest, ":")
	if colon {
		rest = rest[1:]
	}
	if rest == "" || strings.IndexByte("-+?", rest[0]) < 0 {
		return "", 0, fmt.Errorf("unsupported substitution ${%s}: use ${%s}, ${%s:-word}, ${%s:+word} or ${%s:?message}", expr, name, name, name, name)
	}
	present := ok && (!colon || v != "")
	word := rest[1:]
	switch rest[0] {
	case '-':
		if present {
			return v, end + 1, nil
		}
	case '+':
		if !present {
			return "", end + 1, nil
		}
	case '?':
		if present {
			return v, end + 1, nil
		}
		msg, err := e.expand(word, depth+1)
		if err != nil {
			return "", 0, err
		}
		if msg == "" {
			msg = "is not set"
		}
		return "", 0, fmt.Errorf("%s: %s", name, msg)
	}
	w, err := e.expand(word, depth+1)
	return w, end + 1, err
}

// jsonArgs parses the exec (JSON array) form; ok is false when s is not a
// JSON array of strings, in which case Docker treats it as the shell form.
func jsonArgs(s string) ([]string, bool) {
	s = strings.TrimSpace(s)
	if !strings.HasPrefix(s, "[") {
		return nil, false
	}
	var out []string
	if err := json.Unmarshal([]byte(s), &out); err != nil {
		return nil, false
	}
	if out == nil {
		out = []string{}
	}
	return out, true
}

// splitFlags separates leading "--name=value" flags from the arguments.
func splitFlags(words []string) (flags []string, args []string) {
	for i, w := range words {
		if !strings.HasPrefix(w, "--") {
			return flags, words[i:]
		}
		flags = append(flags, w)
	}
	return flags, nil
}
