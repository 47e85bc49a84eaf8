package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"text/tabwriter"

	units "github.com/docker/go-units"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/berth-dev/berth/internal/client"
	"github.com/berth-dev/berth/internal/engine"
)

func newStatsCommand() *cobra.Command {
	var f stackFlags
	var noStream, asJSON bool
	cmd := &cobra.Command{
		Use:   "stats",
		Short: "Show running containers' CPU, memory, pids and network I/O",
		Long: `Show the resource use of running containers, refreshed every second: of one
stack with -p or --file, of all stacks otherwise.`,
		Example: "  berth stats\n  berth stats -p shop --no-stream\n  berth stats --json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			stack := f.project
			if stack == "" && len(f.files) > 0 {
				st, err := f.load(cmd.Context(), cmd.ErrOrStderr())
				if err != nil {
					return err
				}
				stack = st.Name
			}
			out := cmd.OutOrStdout()
			// Redraw in place only on a terminal; piped output gets one
			// table after the other.
			redraw := false
			if fl, ok := out.(*os.File); ok && term.IsTerminal(int(fl.Fd())) && !asJSON && !noStream {
				redraw = true
			}
			err := client.New(f.socket).Stats(cmd.Context(), stack, !noStream, func(s engine.StatsSample) error {
				if asJSON {
					enc := json.NewEncoder(out)
					for _, c := range s.Containers {
						if err := enc.Encode(c); err != nil {
							return err
						}
					}
					return nil
				}
				if redraw {
					fmt.Fprint(out, "\033[H\033[2J") // cursor home, clear screen
				}
				return printStats(out, s.Containers)
			})
			if errors.Is(err, context.Canceled) {
				return nil
			}
			return err
		},
	}
	f.addFile(cmd, "f")
	cmd.Flags().StringVarP(&f.project, "project-name", "p", "", "only this stack (default: all)")
	addSocketFlag(cmd, &f.socket)
	cmd.Flags().BoolVar(&noStream, "no-stream", false, "print one sample and exit")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON object per container and sample (ndjson)")
	return cmd
}

func printStats(w io.Writer, cs []engine.ContainerStats) error {
	tw := tabwriter.NewWriter(w, 0, 4, 3, ' ', 0)
	fmt.Fprintln(tw, "NAME\tCPU %\tMEM USAGE / LIMIT\tMEM %\tNET I/O\tPIDS")
	for _, c := range cs {
		fmt.Fprintf(tw, "%s\t%.2f%%\t%s / %s\t%.2f%%\t%s / %s\t%d\n", c.Name, c.CPUPercent,
			memorySize(c.MemoryBytes), memorySize(c.MemoryLimit), c.MemoryPercent,
			networkSize(c.NetRx), networkSize(c.NetTx), c.Pids)
	}
	return tw.Flush()
}

// memorySize formats memory as docker stats does (KiB, MiB, GiB).
func memorySize(n uint64) string { return units.BytesSize(float64(n)) }

// networkSize formats network bytes as docker stats does (kB, MB, GB).
func networkSize(n uint64) string { return units.HumanSize(float64(n)) }
