package main

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"

	units "github.com/docker/go-units"
	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/internal/imageref"
	"github.com/berth-dev/berth/internal/inspect"
)

// imageFlags are the image-loading flags inspect, diff and rebase share.
type imageFlags struct {
	platform string
	insecure bool
}

func (f *imageFlags) add(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.platform, "platform", "", "platform to pick from a multi-platform image, os/arch[/variant] (default linux/<host arch>)")
	cmd.Flags().BoolVar(&f.insecure, "insecure", false, "allow plain HTTP to registries (loopback registries always may)")
}

func (f *imageFlags) options() (imageref.Options, error) {
	o := imageref.Options{Insecure: f.insecure}
	if f.platform != "" {
		p, err := imageref.ParsePlatform(f.platform)
		if err != nil {
			return o, fmt.Errorf("--platform: %w", err)
		}
		o.Platform = p
	}
	return o, nil
}

const imageRefHelp = `An image is any of:
  oci-layout:DIR[:TAG|@sha256:…]      an OCI image layout
  docker-archive:FILE.tar[:REPO:TAG]  a "docker save" tarball
  DIR, FILE.tar                       an existing layout or tarball
  REGISTRY/REPO[:TAG|@sha256:…]       a registry image (~/.docker/config.json
                                      credentials; localhost is plain HTTP)`

func newInspectCommand() *cobra.Command {
	var (
		flags  imageFlags
		asJSON bool
		top    int
	)
	cmd := &cobra.Command{
		Use:   "inspect IMAGE",
		Short: "Show an image's layers, sizes, efficiency and configuration",
		Long: `Inspect reads every layer of an image and reports its digest, compressed and
uncompressed size, one row per layer (its concern, size, files, inodes), the
largest files, dive's efficiency score and wasted bytes (computed exactly as
dive does, so "dive --ci" thresholds apply), and the runtime configuration.

` + imageRefHelp,
		Example: `  # An image in berth's registry
  berth inspect localhost:5000/app:1.2.3

  # An OCI layout written by berth build, as JSON
  berth inspect oci-layout:./out:app --json

  # The 20 largest files of a docker save tarball
  berth inspect app.tar --top 20

  # Gate CI on efficiency
  berth inspect localhost:5000/app:1.2.3 --json | jq -e '.efficiency > 0.95'`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o, err := flags.options()
			if err != nil {
				return err
			}
			if top < 0 {
				return fmt.Errorf("--top must be 0 or more, got %d", top)
			}
			img, err := imageref.Load(cmd.Context(), args[0], o)
			if err != nil {
				return err
			}
			n := top
			if n == 0 {
				n = -1 // InspectWith's "none"
			}
			r, err := inspect.InspectWith(img, inspect.Options{Top: n})
			if err != nil {
				return fmt.Errorf("inspecting %s: %w", args[0], err)
			}
			if asJSON {
				return writeIndentedJSON(cmd.OutOrStdout(), r)
			}
			printReport(cmd.OutOrStdout(), args[0], r)
			return nil
		},
	}
	flags.add(cmd)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the report as JSON")
	cmd.Flags().IntVar(&top, "top", inspect.DefaultTop, "how many largest files and wasted paths to list")
	return cmd
}

func writeIndentedJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// humanSize formats decimal units as docker images and dive do: "12.3 MB"
// (and "999 B" below a kilobyte).
func humanSize(n int64) string {
	if n < 1000 {
		return fmt.Sprintf("%d B", n)
	}
	return units.CustomSize("%.1f %s", float64(n), 1000, []string{"B", "kB", "MB", "GB", "TB", "PB"})
}

func shortDigest(d string) string {
	if i := strings.IndexByte(d, ':'); i >= 0 && len(d) > i+13 {
		return d[:i+13]
	}
	return d
}

func printReport(out io.Writer, ref string, r *inspect.Report) {
	fmt.Fprintf(out, "Image       %s\n", ref)
	fmt.Fprintf(out, "Digest      %s\n", r.Digest)
	fmt.Fprintf(out, "Media type  %s\n", r.MediaType)
	if r.Platform != "" {
		fmt.Fprintf(out, "Platform    %s\n", r.Platform)
	}
	if r.Created != "" {
		fmt.Fprintf(out, "Created     %s\n", r.Created)
	}
	fmt.Fprintf(out, "Size        %s compressed, %s uncompressed (%d layers, %d files, %d inodes)\n",
		humanSize(r.Size), humanSize(r.UncompressedSize), len(r.Layers), r.Files, r.Inodes)
	fmt.Fprintf(out, "Efficiency  %.2f%%, %s wasted (%.1f%% of the layers above the first)\n",
		r.Efficiency*100, humanSize(r.WastedBytes), r.WastedUserPercent*100)

	fmt.Fprintln(out)
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "#\tCONCERN\tSIZE\tUNCOMPRESSED\tFILES\tINODES\tDIGEST")
	for _, l := range r.Layers {
		c := l.Concern
		if c == "" {
			c = "-"
		}
		if len(c) > 48 {
			c = c[:45] + "..."
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%d\t%d\t%s\n", l.Index, c, humanSize(l.Size), humanSize(l.UncompressedSize), l.Files, l.Inodes, shortDigest(l.Digest))
	}
	tw.Flush()

	if len(r.LargestFiles) > 0 {
		fmt.Fprintln(out, "\nLargest files")
		tw = tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "SIZE\tLAYER\tPATH")
		for _, f := range r.LargestFiles {
			fmt.Fprintf(tw, "%s\t%d\t%s\n", humanSize(f.Size), f.Layer, f.Path)
		}
		tw.Flush()
	}
	var wasted []inspect.Waste
	for _, w := range r.Inefficiencies {
		if w.Bytes > 0 {
			wasted = append(wasted, w)
		}
	}
	if len(wasted) > 0 {
		fmt.Fprintln(out, "\nWasted space (paths stored in several layers or removed by a later one)")
		tw = tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "BYTES\tCOPIES\tPATH")
		for _, w := range wasted {
			fmt.Fprintf(tw, "%s\t%d\t%s\n", humanSize(w.Bytes), w.Count, w.Path)
		}
		tw.Flush()
	}

	fmt.Fprintln(out, "\nConfig")
	tw = tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	c := r.Config
	row := func(k string, vals ...string) {
		for i, v := range vals {
			if i > 0 {
				k = ""
			}
			fmt.Fprintf(tw, "  %s\t%s\n", k, v)
		}
	}
	if len(c.Entrypoint) > 0 {
		row("entrypoint", jsonList(c.Entrypoint))
	}
	if len(c.Cmd) > 0 {
		row("cmd", jsonList(c.Cmd))
	}
	if c.User != "" {
		row("user", c.User)
	}
	if c.WorkingDir != "" {
		row("workdir", c.WorkingDir)
	}
	row("env", c.Env...)
	row("ports", c.ExposedPorts...)
	row("volumes", c.Volumes...)
	row("labels", keyValues(c.Labels)...)
	if c.StopSignal != "" {
		row("stop signal", c.StopSignal)
	}
	if h := c.Healthcheck; h != nil {
		s := jsonList(h.Test)
		var opts []string
		for _, kv := range [][2]string{{"interval", h.Interval}, {"timeout", h.Timeout}, {"start period", h.StartPeriod}} {
			if kv[1] != "" {
				opts = append(opts, kv[0]+" "+kv[1])
			}
		}
		if h.Retries != 0 {
			opts = append(opts, fmt.Sprintf("retries %d", h.Retries))
		}
		if len(opts) > 0 {
			s += " (" + strings.Join(opts, ", ") + ")"
		}
		row("healthcheck", s)
	}
	row("annotations", keyValues(r.Annotations)...)
	tw.Flush()
}

func jsonList(v []string) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func keyValues(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k, v := range m {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}
