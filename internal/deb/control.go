package deb

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Field is one field of a control paragraph. Value is the text after the
// colon with surrounding whitespace removed from the first line; continuation
// lines are kept verbatim (with their leading space) after a "\n", so writing
// "Name: Value\n" reproduces the field.
type Field struct {
	Name, Value string
}

// Paragraph is an RFC822-style (deb822) stanza as used by Packages, Release,
// DEBIAN/control and dpkg's status. Field order is preserved because dpkg
// metadata written back into images should look like dpkg's.
type Paragraph []Field

// Get returns the value of a field (names are case-insensitive), "" if absent.
func (p Paragraph) Get(name string) string {
	v, _ := p.Lookup(name)
	return v
}

// Lookup is Get that also reports whether the field exists.
func (p Paragraph) Lookup(name string) (string, bool) {
	for _, f := range p {
		if strings.EqualFold(f.Name, name) {
			return f.Value, true
		}
	}
	return "", false
}

// Set replaces the value of an existing field or appends a new one.
func (p *Paragraph) Set(name, value string) {
	for i, f := range *p {
		if strings.EqualFold(f.Name, name) {
			(*p)[i].Value = value
			return
		}
	}
	*p = append(*p, Field{Name: name, Value: value})
}

// Delete removes a field if present.
func (p *Paragraph) Delete(name string) {
	out := (*p)[:0]
	for _, f := range *p {
		if !strings.EqualFold(f.Name, name) {
			out = append(out, f)
		}
	}
	*p = out
}

// Clone returns a copy that shares nothing with p.
func (p Paragraph) Clone() Paragraph { return append(Paragraph(nil), p...) }

// Bytes renders the paragraph in control-file syntax, one trailing newline,
// no blank separator line.
func (p Paragraph) Bytes() []byte {
	var b bytes.Buffer
	for _, f := range p {
		b.WriteString(f.Name)
		b.WriteByte(':')
		if f.Value != "" && !strings.HasPrefix(f.Value, "\n") {
			b.WriteByte(' ')
		}
		b.WriteString(f.Value)
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// ParseParagraph parses data that must hold exactly one paragraph.
func ParseParagraph(data []byte) (Paragraph, error) {
	var out Paragraph
	n := 0
	err := ParseParagraphs(bytes.NewReader(data), func(p Paragraph) error {
		n++
		if n > 1 {
			return errors.New("more than one paragraph")
		}
		out = p
		return nil
	})
	if err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, errors.New("no paragraph")
	}
	return out, nil
}

// maxLine bounds one line of a control file so a hostile index cannot make us
// buffer without limit (Debian's longest lines are a few hundred KiB).
const maxLine = 16 << 20

// ParseParagraphs reads blank-line separated paragraphs from r and calls fn
// for each, in order. Lines starting with '#' are comments. Errors name the
// line number.
func ParseParagraphs(r io.Reader, fn func(Paragraph) error) error {
	br := bufio.NewReaderSize(r, 64<<10)
	var (
		cur    Paragraph
		lineNo int
		seen   = map[string]bool{}
	)
	flush := func() error {
		if len(cur) == 0 {
			return nil
		}
		p := cur
		cur = nil
		clear(seen)
		return fn(p)
	}
	for {
		line, err := readLine(br)
		if err != nil && err != io.EOF {
			return fmt.Errorf("line %d: %w", lineNo+1, err)
		}
		if line == "" && err == io.EOF {
			break
		}
		lineNo++
		line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
		switch {
		case strings.TrimSpace(line) == "":
			if ferr := flush(); ferr != nil {
				return ferr
			}
		case line[0] == ' ' || line[0] == '\t':
			if len(cur) == 0 {
				return fmt.Errorf("line %d: continuation line outside a field", lineNo)
			}
			cur[len(cur)-1].Value += "\n" + line
		case line[0] == '#':
			// comment
		default:
			i := strings.IndexByte(line, ':')
			if i < 0 {
				return fmt.Errorf("line %d: %q is not a \"Field: value\" line", lineNo, truncate(line))
			}
			name := line[:i]
			if err := checkFieldName(name); err != nil {
				return fmt.Errorf("line %d: %w", lineNo, err)
			}
			key := strings.ToLower(name)
			if seen[key] {
				return fmt.Errorf("line %d: duplicate field %q", lineNo, name)
			}
			seen[key] = true
			cur = append(cur, Field{Name: name, Value: strings.TrimSpace(line[i+1:])})
		}
		if err == io.EOF {
			break
		}
	}
	return flush()
}

func readLine(br *bufio.Reader) (string, error) {
	var sb strings.Builder
	for {
		chunk, err := br.ReadSlice('\n')
		sb.Write(chunk)
		if sb.Len() > maxLine {
			return "", fmt.Errorf("line longer than %d bytes", maxLine)
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		return sb.String(), err
	}
}

func checkFieldName(name string) error {
	if name == "" {
		return errors.New("empty field name")
	}
	if name[0] == '-' {
		return fmt.Errorf("field name %q starts with '-'", truncate(name))
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; c <= ' ' || c >= 0x7f {
			return fmt.Errorf("field name %q contains an invalid character", truncate(name))
		}
	}
	return nil
}

// lines splits a multi-line field value into its non-empty trimmed lines.
func lines(v string) []string {
	var out []string
	for _, l := range strings.Split(v, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

func truncate(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}
