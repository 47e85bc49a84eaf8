package main

import (
	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/internal/cliflag"
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
			c.ValidArgsFunction = cliflag.CompleteServices(n, c.Name() == "scale")
		}
	}
}
