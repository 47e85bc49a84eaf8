package deb

import (
	"strings"
	"testing"
)

func TestParseParagraphs(t *testing.T) {
	in := "Package: foo\r\nVersion: 1.0\nDescription: short\n long line one\n .\n line two\n\n\n# comment\nPackage: bar\nDepends: a,\n b\n"
	var got []Paragraph
	err := ParseParagraphs(strings.NewReader(in), func(p Paragraph) error {
		got = append(got, p)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("got %d paragraphs, want 2", len(got))
	}
	if v := got[0].Get("version"); v != "1.0" {
		t.Errorf("Version = %q (lookup must be case-insensitive)", v)
	}
	if v := got[0].Get("Description"); v != "short\n long line one\n .\n line two" {
		t.Errorf("Description = %q", v)
	}
	if v := got[1].Get("Depends"); v != "a,\n b" {
		t.Errorf("Depends = %q", v)
	}
	// Bytes reproduces the input paragraph (without the CR).
	if b := string(got[0].Bytes()); b != "Package: foo\nVersion: 1.0\nDescription: short\n long line one\n .\n line two\n" {
		t.Errorf("Bytes = %q", b)
	}
}

func TestParseParagraphErrors(t *testing.T) {
	cases := map[string]string{
		"Package: a\nno colon here\n":  "line 2",
		" continuation first\n":        "continuation line outside a field",
		"Package: a\nPackage: b\n":     "duplicate field",
		": value\n":                    "empty field name",
		"-Bad: x\n":                    "starts with '-'",
		"Bad Name: x\n":                "invalid character",
		"Package: a\n\nPackage: b\n":   "more than one paragraph",
		"\n\n":                         "no paragraph",
		"Package: a\nPACKAGE: again\n": "duplicate field",
	}
	for in, want := range cases {
		_, err := ParseParagraph([]byte(in))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseParagraph(%q) error = %v, want it to mention %q", in, err, want)
		}
	}
}

func TestParagraphSetDelete(t *testing.T) {
	p := Paragraph{{"Package", "a"}, {"Version", "1"}}
	p.Set("version", "2")
	p.Set("Status", "x")
	p.Delete("PACKAGE")
	if got := string(p.Bytes()); got != "Version: 2\nStatus: x\n" {
		t.Errorf("got %q", got)
	}
}
