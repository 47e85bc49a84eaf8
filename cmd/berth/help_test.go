package main

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/internal/cliflag"
)

var update = flag.Bool("update", false, "rewrite testdata/help.golden")

// commandPaths lists every command of the tree, hidden ones and cobra's
// help and completion commands included, root first, depth first.
func commandPaths() [][]string {
	root := newRootCommand()
	root.InitDefaultHelpCmd() // cobra adds it at Execute
	var paths [][]string
	var walk func(c *cobra.Command, path []string)
	walk = func(c *cobra.Command, path []string) {
		paths = append(paths, path)
		for _, sub := range c.Commands() {
			walk(sub, append(append([]string(nil), path...), sub.Name()))
		}
	}
	walk(root, nil)
	return paths
}

// TestHelpGolden: the --help of every command is testdata/help.golden,
// byte for byte (the help text lives in help/, the wiring in Go; a change
// to either shows here). go test ./cmd/berth -run TestHelpGolden -update
// rewrites it.
func TestHelpGolden(t *testing.T) {
	var b strings.Builder
	root := newRootCommand()
	for _, path := range commandPaths() {
		args := append(append([]string(nil), path...), "--help")
		if c, _, err := root.Find(path); err == nil && c.DisableFlagParsing {
			args = append([]string{"help"}, path...) // its flags are its own
		}
		stdout, stderr, err := runCLI(t, args...)
		if err != nil || stderr != "" {
			t.Fatalf("berth %s: %v\n%s", strings.Join(args, " "), err, stderr)
		}
		b.WriteString("=== berth " + strings.Join(args, " ") + "\n" + stdout)
	}
	golden := filepath.Join("testdata", "help.golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if got := b.String(); got != string(want) {
		gl, wl := strings.Split(got, "\n"), strings.Split(string(want), "\n")
		for i := 0; i < len(gl) && i < len(wl); i++ {
			if gl[i] != wl[i] {
				t.Fatalf("help differs from %s at line %d:\n got %q\nwant %q\n(go test ./cmd/berth -run TestHelpGolden -update rewrites it)", golden, i+1, gl[i], wl[i])
			}
		}
		t.Fatalf("help differs from %s in length: %d lines, want %d", golden, len(gl), len(wl))
	}
}

// TestHelpFiles: every file in help/ belongs to a command (or is a
// snippet one refers to), and every {{NAME}} in them is replaced.
func TestHelpFiles(t *testing.T) {
	used := map[string]bool{"help/image-refs.txt": true}
	for _, path := range commandPaths() {
		used[cliflag.HelpFileName(strings.Join(append([]string{"berth"}, path...), " "))] = true
	}
	entries, err := helpFiles.ReadDir("help")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !used["help/"+e.Name()] {
			t.Errorf("help/%s is no command's help (berth-PATH.txt, as the man page)", e.Name())
		}
	}
	root := newRootCommand()
	for _, path := range commandPaths() {
		c, _, err := root.Find(path)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(c.Long+c.Example, "{{") {
			t.Errorf("berth %s: unreplaced {{ in its help", strings.Join(path, " "))
		}
	}
	if long, ex := cliflag.SplitHelp("Examples:\n  berth x"); long != "" || ex != "  berth x" {
		t.Errorf("examples only: %q %q", long, ex)
	}
	if long, ex := cliflag.SplitHelp("text\n\nExamples:\n  berth x"); long != "text" || ex != "  berth x" {
		t.Errorf("both: %q %q", long, ex)
	}
	if long, ex := cliflag.SplitHelp("text"); long != "text" || ex != "" {
		t.Errorf("long only: %q %q", long, ex)
	}
}
