package main

import (
	"context"
	"errors"

	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/internal/client"
	"github.com/berth-dev/berth/internal/engine"
	"github.com/berth-dev/berth/internal/progress"
)

func newStatsCommand() *cobra.Command {
	var f stackFlags
	var noStream, asJSON bool
	cmd := &cobra.Command{
		Use:   "stats",
		Short: "Show running containers' CPU, memory, pids and network I/O",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			stack, err := f.NameIfGiven(cmd.Context(), cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			// Redraw in place only on a terminal; piped output gets one
			// table after the other.
			w := cmd.OutOrStdout()
			out := engine.StatsOutput{W: w, JSON: asJSON, Redraw: progress.IsTerminal(w) && !asJSON && !noStream}
			err = client.New(f.socket).Stats(cmd.Context(), stack, !noStream, out.Sample)
			if errors.Is(err, context.Canceled) {
				return nil
			}
			return err
		},
	}
	f.addFile(cmd, "f")
	cmd.Flags().StringVarP(&f.Project, "project-name", "p", "", "only this stack (default: all)")
	addSocketFlag(cmd, &f.socket)
	cmd.Flags().BoolVar(&noStream, "no-stream", false, "print one sample and exit")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON object per container and sample (ndjson)")
	return cmd
}
