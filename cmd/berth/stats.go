package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/berth-dev/berth/internal/engine"
	"github.com/berth-dev/berth/internal/engine/api"
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
			q := url.Values{}
			switch {
			case f.project != "":
				q.Set("stack", f.project)
			case len(f.files) > 0:
				st, err := f.load(cmd.Context(), cmd.ErrOrStderr())
				if err != nil {
					return err
				}
				q.Set("stack", st.Name)
			}
			if !noStream {
				q.Set("stream", "1")
			}
			out := cmd.OutOrStdout()
			// Redraw in place only on a terminal; piped output gets one
			// table after the other.
			redraw := false
			if fl, ok := out.(*os.File); ok && term.IsTerminal(int(fl.Fd())) && !asJSON && !noStream {
				redraw = true
			}
			err := api.NewClient(f.socket).Stream(cmd.Context(), http.MethodGet, "/stats", q, nil, func(raw json.RawMessage) error {
				var s engine.StatsSample
				if err := json.Unmarshal(raw, &s); err != nil {
					return fmt.Errorf("stats from the daemon: %w", err)
				}
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
	cmd.Flags().StringVar(&f.socket, "socket", "", "daemon socket (default $BERTH_SOCKET or "+api.DefaultSocket+")")
	cmd.Flags().BoolVar(&noStream, "no-stream", false, "print one sample and exit")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON object per container and sample (ndjson)")
	return cmd
}

func printStats(w io.Writer, cs []engine.ContainerStats) error {
	tw := tabwriter.NewWriter(w, 0, 4, 3, ' ', 0)
	fmt.Fprintln(tw, "NAME\tCPU %\tMEM USAGE / LIMIT\tMEM %\tNET I/O\tPIDS")
	for _, c := range cs {
		fmt.Fprintf(tw, "%s\t%.2f%%\t%s / %s\t%.2f%%\t%s / %s\t%d\n", c.Name, c.CPUPercent,
			binarySize(c.MemoryBytes), binarySize(c.MemoryLimit), c.MemoryPercent,
			decimalSize(c.NetRx), decimalSize(c.NetTx), c.Pids)
	}
	return tw.Flush()
}

// binarySize formats memory as docker stats does (KiB, MiB, GiB).
func binarySize(n uint64) string {
	units := []string{"B", "KiB", "MiB", "GiB", "TiB"}
	v, i := float64(n), 0
	for v >= 1024 && i < len(units)-1 {
		v, i = v/1024, i+1
	}
	if i == 0 {
		return fmt.Sprintf("%dB", n)
	}
	return fmt.Sprintf("%.4g%s", v, units[i])
}

// decimalSize formats network bytes as docker stats does (kB, MB, GB).
func decimalSize(n uint64) string {
	units := []string{"B", "kB", "MB", "GB", "TB"}
	v, i := float64(n), 0
	for v >= 1000 && i < len(units)-1 {
		v, i = v/1000, i+1
	}
	if i == 0 {
		return fmt.Sprintf("%dB", n)
	}
	return fmt.Sprintf("%.4g%s", v, units[i])
}
