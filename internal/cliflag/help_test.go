package cliflag

import (
	"io"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/spf13/cobra"
)

func tree() *cobra.Command {
	root := &cobra.Command{Use: "berth"}
	reg := &cobra.Command{Use: "registry"}
	reg.AddCommand(&cobra.Command{Use: "serve", Run: func(*cobra.Command, []string) {}}, &cobra.Command{Use: "gc", Run: func(*cobra.Command, []string) {}})
	root.AddCommand(reg, &cobra.Command{Use: "up", Run: func(*cobra.Command, []string) {}}, &cobra.Command{Use: "version", Run: func(*cobra.Command, []string) {}})
	return root
}

// TestAddHelp: each command's file (named as its man page) gives its
// Long and Example, with the variables replaced; no file, no help.
func TestAddHelp(t *testing.T) {
	files := fstest.MapFS{
		"help/berth-registry-serve.txt": {Data: []byte("Serve it. See {{x}}.\n\nExamples:\n  berth registry serve\n")},
		"help/berth-registry.txt":       {Data: []byte("Examples:\n  berth registry gc\n")},
		"help/berth-up.txt":             {Data: []byte("Long only.\n")},
	}
	root := tree()
	AddHelp(root, files, "{{x}}", "the docs")
	want := map[string][2]string{
		"berth registry serve": {"Serve it. See the docs.", "  berth registry serve"},
		"berth registry":       {"", "  berth registry gc"},
		"berth up":             {"Long only.", ""},
		"berth registry gc":    {"", ""},
		"berth version":        {"", ""},
	}
	for path, w := range want {
		c, _, err := root.Find(strings.Fields(path)[1:])
		if err != nil {
			t.Fatal(err)
		}
		if c.Long != w[0] || c.Example != w[1] {
			t.Errorf("%s: Long %q Example %q, want %q %q", path, c.Long, c.Example, w[0], w[1])
		}
	}
	if got := ReadHelp(files, "help/nosuch.txt"); got != "" {
		t.Errorf("ReadHelp of a missing file = %q", got)
	}
}

// TestStrictSubcommands: an unknown subcommand is an error with the
// suggestion, at every level; no argument prints the help.
func TestStrictSubcommands(t *testing.T) {
	for args, want := range map[string]string{
		"registry serv": `unknown command "serv" for "berth registry"; did you mean "serve"?`,
		"vresion":       `unknown command "vresion" for "berth"; did you mean "version"?`,
		"registry":      "",
	} {
		root := tree()
		StrictSubcommands(root)
		root.SetOut(io.Discard)
		root.SetErr(io.Discard)
		root.SetArgs(strings.Fields(args))
		err := root.Execute()
		if want == "" && err != nil || want != "" && (err == nil || !strings.Contains(err.Error(), want)) {
			t.Errorf("berth %s: %v, want %q", args, err, want)
		}
	}
}

// TestCompleteServiceArgs: the commands whose arguments are services
// complete them; the others are left alone.
func TestCompleteServiceArgs(t *testing.T) {
	root := tree()
	CompleteServiceArgs(root)
	for _, c := range root.Commands() {
		if got := c.ValidArgsFunction != nil; got != (c.Name() == "up") {
			t.Errorf("%s: completes services %v", c.Name(), got)
		}
	}
}
