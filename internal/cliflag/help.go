package cliflag

import (
	"io/fs"
	"strings"

	"github.com/spf13/cobra"
)

// HelpFileName is the help file of the command at path ("berth registry
// serve" → help/berth-registry-serve.txt, named as its man page).
func HelpFileName(path string) string {
	return "help/" + strings.ReplaceAll(path, " ", "-") + ".txt"
}

// ReadHelp is a help file of files without its final newline ("" if none).
func ReadHelp(files fs.FS, name string) string {
	b, err := fs.ReadFile(files, name)
	if err != nil {
		return ""
	}
	return strings.TrimSuffix(string(b), "\n")
}

// SplitHelp splits a help file into its Long and Example parts: the Long
// text, then (after a line "Examples:", as the help prints it) the
// Example text; either may be missing.
func SplitHelp(text string) (long, example string) {
	if ex, ok := strings.CutPrefix(text, "Examples:\n"); ok {
		return "", ex
	}
	long, example, _ = strings.Cut(text, "\n\nExamples:\n")
	return long, example
}

// AddHelp sets Long and Example of every command of root's tree that has
// a help file in files (HelpFileName), with each vars pair's old text
// ({{NAME}}) replaced by the new, as strings.NewReplacer takes them.
func AddHelp(root *cobra.Command, files fs.FS, vars ...string) {
	r := strings.NewReplacer(vars...)
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if text := ReadHelp(files, HelpFileName(c.CommandPath())); text != "" {
			c.Long, c.Example = SplitHelp(r.Replace(text))
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
}
