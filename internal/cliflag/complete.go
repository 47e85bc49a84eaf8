package cliflag

import (
	"io"

	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/internal/stack"
)

// StackFromFlags is the Stack the flags of cmd hold (-f, -E/--env, -p,
// --set), read back by name: shell completion runs before the command
// binds its own values.
func StackFromFlags(cmd *cobra.Command) Stack {
	var f Stack
	f.Files = Array(cmd, "file")
	f.Environment.Name, _ = cmd.Flags().GetString("environment")
	f.Environment.Old, _ = cmd.Flags().GetString("env")
	f.Project, _ = cmd.Flags().GetString("project-name")
	f.Set = Array(cmd, "set")
	return f
}

// CompleteServices completes a command's service arguments (at most max
// of them; 0: any number) with the names of the services of the stack its
// flags name; with assign as SERVICE= (scale's SERVICE=N).
func CompleteServices(max int, assign bool) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if max > 0 && len(args) >= max {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		f := StackFromFlags(cmd)
		st, err := f.Load(cmd.Context(), io.Discard)
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveError
		}
		out := stack.CompleteServices(st, toComplete, assign)
		d := cobra.ShellCompDirectiveNoFileComp
		if assign {
			d |= cobra.ShellCompDirectiveNoSpace
		}
		return out, d
	}
}
