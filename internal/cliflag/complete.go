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

// serviceArgs are the commands whose arguments name services of the stack
// file (-f, else berth.yaml / compose.yaml here), and how many of them:
// 0 means any number. scale's argument is SERVICE=N.
var serviceArgs = map[string]int{"up": 0, "logs": 0, "exec": 1, "deploy": 1, "rollback": 1, "history": 1, "scale": 0}

// CompleteServiceArgs lets the shell completion (berth completion bash|zsh|
// fish) offer the stack's service names to those commands of root.
func CompleteServiceArgs(root *cobra.Command) {
	for _, c := range root.Commands() {
		if n, ok := serviceArgs[c.Name()]; ok && c.ValidArgsFunction == nil {
			c.ValidArgsFunction = CompleteServices(n, c.Name() == "scale")
		}
	}
}
