package main

import (
	"io"

	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/internal/cliflag"
	"github.com/berth-dev/berth/internal/stack"
)

// serviceArgs are the commands whose arguments name services of the stack
// file (-f, else berth.yaml / compose.yaml here), and how many of them:
// 0 means any number. scale's argument is SERVICE=N.
var serviceArgs = map[string]int{"up": 0, "logs": 0, "exec": 1, "deploy": 1, "rollback": 1, "history": 1, "scale": 0}

// completeServiceArgs lets the shell completion (berth completion bash|zsh|
// fish) offer the stack's service names to those commands.
func completeServiceArgs(root *cobra.Command) {
	for _, c := range root.Commands() {
		if n, ok := serviceArgs[c.Name()]; ok && c.ValidArgsFunction == nil {
			c.ValidArgsFunction = serviceCompletion(n, c.Name() == "scale")
		}
	}
}

func serviceCompletion(max int, assign bool) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if max > 0 && len(args) >= max {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		// The same flags the command itself reads the stack with.
		var f cliflag.Stack
		f.Files = cliflag.Array(cmd, "file")
		f.Environment.Name, _ = cmd.Flags().GetString("environment")
		f.Environment.Old, _ = cmd.Flags().GetString("env")
		f.Project, _ = cmd.Flags().GetString("project-name")
		f.Set = cliflag.Array(cmd, "set")
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
