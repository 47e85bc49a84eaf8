package main

import (
	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/internal/client"
	"github.com/berth-dev/berth/internal/engine"
)

func newPruneCommand() *cobra.Command {
	var socket string
	var volumes bool
	cmd := &cobra.Command{
		Use:   "prune",
		Short: "Remove stopped containers, unused images and snapshots (and volumes)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			rep, err := client.New(socket).Prune(cmd.Context(), volumes)
			if err != nil {
				return err
			}
			engine.WritePrune(cmd.OutOrStdout(), rep, volumes)
			return rep.Err()
		},
	}
	cmd.Flags().BoolVar(&volumes, "volumes", false, "also remove named volumes no container mounts")
	addSocketFlag(cmd, &socket)
	return cmd
}
