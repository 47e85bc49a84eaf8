package cliflag

import (
	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/internal/errtext"
)

// StrictSubcommands makes every command that has subcommands refuse an
// unknown one with a non-zero exit ("unknown command ... did you mean ...")
// instead of printing its help and exiting 0, at every level of the tree.
// Without arguments such a command still prints its help.
func StrictSubcommands(cmd *cobra.Command) {
	if cmd.HasSubCommands() {
		cmd.SuggestionsMinimumDistance = 2
		cmd.Args = unknownSubcommand
		if cmd.Run == nil && cmd.RunE == nil {
			cmd.RunE = func(cmd *cobra.Command, _ []string) error { return cmd.Help() }
		}
	}
	for _, c := range cmd.Commands() {
		StrictSubcommands(c)
	}
}

// unknownSubcommand is the Args check of a command with subcommands: any
// argument left is a subcommand cobra did not find.
func unknownSubcommand(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	return errtext.UnknownCommand(args[0], cmd.CommandPath(), !cmd.HasParent(), cmd.SuggestionsFor(args[0]))
}
