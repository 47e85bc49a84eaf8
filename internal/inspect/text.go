package inspect

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/docker/go-units"
)

// HumanSize formats decimal units as docker images and dive do: "12.3 MB"
// (and "999 B" below a kilobyte).
func HumanSize(n int64) string {
	if n < 1000 {
		return fmt.Sprintf("%d B", n)
	}
	return units.CustomSize("%.1f %s", float64(n), 1000, []string{"B", "kB", "MB", "GB", "TB", "PB"})
}

// ShortDigest is a digest cut to its algorithm and 12 hex digits.
func ShortDigest(d string) string {
	if i := strings.IndexByte(d, ':'); i >= 0 && len(d) > i+13 {
		return d[:i+13]
	}
	return d
}

// WriteReport writes r, the report of image ref, as berth inspect shows it.
func WriteReport(out io.Writer, ref string, r *Report) {
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
		HumanSize(r.Size), HumanSize(r.UncompressedSize), len(r.Layers), r.Files, r.Inodes)
	fmt.Fprintf(out, "Efficiency  %.2f%%, %s wasted (%.1f%% of the layers above the first)\n",
		r.Efficiency*100, HumanSize(r.WastedBytes), r.WastedUserPercent*100)

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
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%d\t%d\t%s\n", l.Index, c, HumanSize(l.Size), HumanSize(l.UncompressedSize), l.Files, l.Inodes, ShortDigest(l.Digest))
	}
	tw.Flush()

	if len(r.LargestFiles) > 0 {
		fmt.Fprintln(out, "\nLargest files")
		tw = tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "SIZE\tLAYER\tPATH")
		for _, f := range r.LargestFiles {
			fmt.Fprintf(tw, "%s\t%d\t%s\n", HumanSize(f.Size), f.Layer, f.Path)
		}
		tw.Flush()
	}
	var wasted []Waste
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
			fmt.Fprintf(tw, "%s\t%d\t%s\n", HumanSize(w.Bytes), w.Count, w.Path)
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
	if len(r.Referrers) > 0 {
		fmt.Fprintln(out)
		tw = tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "REFERRER\tARTIFACT TYPE\tPREDICATE TYPE")
		for _, ref := range r.Referrers {
			pt := ref.PredicateType
			if pt == "" {
				pt = "-"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\n", ShortDigest(ref.Digest), ref.ArtifactType, pt)
		}
		tw.Flush()
	}
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

func changeMark(change string) string {
	switch change {
	case "added":
		return "+"
	case "removed":
		return "-"
	default:
		return "~"
	}
}

// WriteDiff writes r as berth diff shows it: +, - and ~ lines for files,
// then packages, then configuration.
func WriteDiff(out io.Writer, r *DiffReport) {
	if r.Empty() {
		fmt.Fprintf(out, "no differences between %s and %s\n", r.From, r.To)
		return
	}
	for _, f := range r.Files {
		if f.Change == "changed" {
			fmt.Fprintf(out, "~ %s (%s)\n", f.Path, strings.Join(f.What, ", "))
		} else {
			fmt.Fprintf(out, "%s %s\n", changeMark(f.Change), f.Path)
		}
	}
	if len(r.Packages) > 0 {
		if len(r.Files) > 0 {
			fmt.Fprintln(out)
		}
		fmt.Fprintln(out, "Packages")
		for _, p := range r.Packages {
			switch p.Change {
			case "added":
				fmt.Fprintf(out, "+ %s %s\n", p.Name, p.To)
			case "removed":
				fmt.Fprintf(out, "- %s %s\n", p.Name, p.From)
			default:
				fmt.Fprintf(out, "~ %s %s → %s\n", p.Name, p.From, p.To)
			}
		}
	}
	if len(r.Config) > 0 {
		if len(r.Files) > 0 || len(r.Packages) > 0 {
			fmt.Fprintln(out)
		}
		fmt.Fprintln(out, "Config")
		for _, c := range r.Config {
			switch c.Change {
			case "added":
				fmt.Fprintf(out, "+ %s %s\n", c.Field, c.To)
			case "removed":
				fmt.Fprintf(out, "- %s %s\n", c.Field, c.From)
			default:
				fmt.Fprintf(out, "~ %s %s → %s\n", c.Field, c.From, c.To)
			}
		}
	}
}
