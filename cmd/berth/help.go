package main

import (
	"embed"

	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/internal/cliflag"
	"github.com/berth-dev/berth/internal/promote"
)

// helpFiles are the commands' long help and examples, one file per
// command named as its man page: help/berth-registry-serve.txt is
// `berth registry serve` (see cliflag.AddHelp). image-refs.txt is a
// snippet, not a command.
//
//go:embed help/*.txt
var helpFiles embed.FS

// addHelp sets Long and Example of every command that has a help file.
func addHelp(root *cobra.Command) {
	cliflag.AddHelp(root, helpFiles,
		"{{image-refs}}", cliflag.ReadHelp(helpFiles, "help/image-refs.txt"),
		"{{promote.ArtifactType}}", promote.ArtifactType,
	)
}
