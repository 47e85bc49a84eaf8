package main

import (
	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/internal/client"
	"github.com/berth-dev/berth/internal/engine"
	"github.com/berth-dev/berth/internal/stack"
)

func newScaleCommand() *cobra.Command {
	var f stackFlags
	list := engine.ContainerList{All: true} // every container up or scale left, as before
	cmd := &cobra.Command{
		Use:   "scale SERVICE=N [SERVICE=N...]",
		Short: "Change the replica count of services of a running stack",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			replicas, err := stack.ParseScale(args)
			if err != nil {
				return err
			}
			name, err := f.stackName(cmd)
			if err != nil {
				return err
			}
			cs, err := client.New(f.socket).Scale(cmd.Context(), name, replicas)
			if err != nil {
				return err
			}
			return list.Write(cmd.OutOrStdout(), cs, shortDigest)
		},
	}
	f.add(cmd)
	cmd.Flags().BoolVar(&list.JSONAll, "json", false, "print the stack's containers as JSON (as ps --json)")
	return cmd
}
