package main

import (
	"embed"
	"strings"

	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/internal/promote"
)

// helpFiles are the commands' long help and examples, one file per
// command named as its man page: help/berth-registry-serve.txt is
// `berth registry serve`. A file is the Long text, then (after a line
// "Examples:", as the help prints it) the Example text; either may be
// missing. image-refs.txt is a snippet, not a command.
//
//go:embed help/*.txt
var helpFiles embed.FS

// helpFileName is the file of the command at path ("berth registry serve").
func helpFileName(path string) string {
	return "help/" + strings.ReplaceAll(path, " ", "-") + ".txt"
}

// helpVars are what {{NAME}} in a help file stands for.
func helpVars() *strings.Replacer {
	return strings.NewReplacer(
		"{{image-refs}}", readHelp("help/image-refs.txt"),
		"{{promote.ArtifactType}}", promote.ArtifactType,
	)
}

// readHelp is an embedded file without its final newline ("" if none).
func readHelp(name string) string {
	b, err := helpFiles.ReadFile(name)
	if err != nil {
		return ""
	}
	return strings.TrimSuffix(string(b), "\n")
}

// splitHelp splits a help file into its Long and Example parts.
func splitHelp(text string) (long, example string) {
	if ex, ok := strings.CutPrefix(text, "Examples:\n"); ok {
		return "", ex
	}
	long, example, _ = strings.Cut(text, "\n\nExamples:\n")
	return long, example
}

// addHelp sets Long and Example of every command of the tree that has a
// help file.
func addHelp(root *cobra.Command) {
	vars := helpVars()
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if text := readHelp(helpFileName(c.CommandPath())); text != "" {
			c.Long, c.Example = splitHelp(vars.Replace(text))
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
}
