package main

import (
	"io"

	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/internal/client"
	"github.com/berth-dev/berth/internal/engine"
)

func newVolumeCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "volume",
		Short: "List and remove named volumes",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(newVolumeLsCommand(), newVolumeRmCommand())
	return cmd
}

func newVolumeLsCommand() *cobra.Command {
	var socket string
	var asJSON bool
	cmd := &cobra.Command{
		Use:     "ls",
		Aliases: []string{"list"},
		Short:   "List named volumes with their size on disk and the containers using them",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			vs, err := client.New(socket).Volumes(cmd.Context())
			if err != nil {
				return err
			}
			return printResult(cmd.OutOrStdout(), asJSON, vs, func(w io.Writer) { engine.WriteVolumes(w, vs, humanSize) })
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	addSocketFlag(cmd, &socket)
	return cmd
}

func newVolumeRmCommand() *cobra.Command {
	var socket string
	cmd := &cobra.Command{
		Use:     "rm NAME...",
		Aliases: []string{"remove"},
		Short:   "Remove named volumes no container uses",
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return removeEach(cmd, args, client.New(socket).RemoveVolume)
		},
	}
	addSocketFlag(cmd, &socket)
	return cmd
}
