package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

// commandHints answer, at the top level, the docker and compose commands
// berth has no command for by pointing at what does the job (cobra's
// edit-distance suggestions would offer ps for push, logs for login).
var commandHints = map[string]string{
	"push":    "images are pushed by `berth build --push REF`, or built, pushed and deployed by `berth ship`",
	"stop":    "`berth down` stops and removes a stack's containers",
	"start":   "`berth up` creates and starts a stack's containers",
	"run":     "berth runs stacks: declare the service in compose.yaml or berth.yaml, then `berth up`",
	"rm":      "`berth down` removes a stack's containers, `berth rmi` images, `berth volume rm` volumes",
	"restart": "`berth deploy SERVICE` replaces a service's containers with zero downtime",
	"login":   "berth has no login: registry credentials come from the docker config (~/.docker/config.json), as written by `docker login` or `crane auth login`",
	"logout":  "berth has no logout: registry credentials come from the docker config (~/.docker/config.json)",
}

// strictSubcommands makes every command that has subcommands refuse an
// unknown one with a non-zero exit ("unknown command ... did you mean ...")
// instead of printing its help and exiting 0, at every level of the tree.
// Without arguments such a command still prints its help.
func strictSubcommands(cmd *cobra.Command) {
	if cmd.HasSubCommands() {
		cmd.SuggestionsMinimumDistance = 2
		cmd.Args = unknownSubcommand
		if cmd.Run == nil && cmd.RunE == nil {
			cmd.RunE = func(cmd *cobra.Command, _ []string) error { return cmd.Help() }
		}
	}
	for _, c := range cmd.Commands() {
		strictSubcommands(c)
	}
}

// unknownSubcommand is the Args check of a command with subcommands: any
// argument left is a subcommand cobra did not find.
func unknownSubcommand(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	msg := fmt.Sprintf("unknown command %q for %q", args[0], cmd.CommandPath())
	if hint, ok := commandHints[args[0]]; ok && !cmd.HasParent() {
		return fmt.Errorf("%s: %s", msg, hint)
	}
	if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
		return fmt.Errorf("%s; did you mean %s? (see %q)", msg, quoteAll(s), cmd.CommandPath()+" --help")
	}
	return fmt.Errorf("%s (see %q)", msg, cmd.CommandPath()+" --help")
}

func quoteAll(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = fmt.Sprintf("%q", n)
	}
	return strings.Join(q, " or ")
}
