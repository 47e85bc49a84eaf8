package engine

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	units "github.com/docker/go-units"

	"github.com/berth-dev/berth/internal/progress"
)

// The tables `berth ps`, `images`, `volume ls`, `stats` and `prune` print.
// Digests and sizes are shortened by the caller's formatters (berth's
// inspect.ShortDigest and inspect.HumanSize), so every command shows them
// alike.

// WriteContainers writes one row per container.
func WriteContainers(w io.Writer, cs []Container, short func(string) string) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tSTATE\tHEALTH\tRESTARTS\tIP\tPORTS\tIMAGE")
	for _, c := range cs {
		var ports []string
		for _, p := range c.Ports {
			host := p.HostIP
			if host == "" {
				host = "0.0.0.0"
			}
			ports = append(ports, fmt.Sprintf("%s:%d->%d", host, p.HostPort, p.ContainerPort))
		}
		state := c.State
		if c.State == StateRunning {
			state += " " + time.Since(c.StartedAt).Round(time.Second).String()
		} else if c.State == StateExited {
			state += fmt.Sprintf(" (%d)", c.ExitCode)
		}
		if c.OOMKilled {
			state += " oom-killed"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t%s\n", c.Name, state, c.Health, c.Restarts, c.IP, strings.Join(ports, ","), short(c.Image))
	}
	tw.Flush()
}

// WriteImages writes one row per name (an unnamed image gets "<none>").
func WriteImages(w io.Writer, imgs []Image, short func(string) string, size func(int64) string) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tDIGEST\tSIZE\tCREATED\tCONTAINERS")
	for _, img := range imgs {
		names := img.Names
		if len(names) == 0 {
			names = []string{"<none>"}
		}
		created := CreatedAgo(img.Created, time.Now())
		for _, n := range names {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\n", n, short(img.Digest), size(img.Size), created, len(img.Containers))
		}
	}
	tw.Flush()
}

// CreatedAgo says how old an image is; reproducible builds are often
// stamped 1970 (SOURCE_DATE_EPOCH=0), so old ones get their date.
func CreatedAgo(t, now time.Time) string {
	d := now.Sub(t)
	switch {
	case t.IsZero():
		return "-"
	case d < 0:
		return t.UTC().Format("2006-01-02")
	case d < time.Minute:
		return "seconds ago"
	case d < time.Hour:
		return fmt.Sprintf("%d minutes ago", int(d/time.Minute))
	case d < 48*time.Hour:
		return fmt.Sprintf("%d hours ago", int(d/time.Hour))
	case d < 60*24*time.Hour:
		return fmt.Sprintf("%d days ago", int(d/(24*time.Hour)))
	}
	return t.UTC().Format("2006-01-02")
}

// WriteVolumes writes one row per volume with the containers using it.
func WriteVolumes(w io.Writer, vs []Volume, size func(int64) string) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tSIZE\tCONTAINERS")
	for _, v := range vs {
		users := strings.Join(v.Containers, ",")
		if users == "" {
			users = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", v.Name, size(v.Size), users)
	}
	tw.Flush()
}

// WriteStats writes one sample's table, as docker stats does.
func WriteStats(w io.Writer, cs []ContainerStats) error {
	tw := tabwriter.NewWriter(w, 0, 4, 3, ' ', 0)
	fmt.Fprintln(tw, "NAME\tCPU %\tMEM USAGE / LIMIT\tMEM %\tNET I/O\tPIDS")
	for _, c := range cs {
		fmt.Fprintf(tw, "%s\t%.2f%%\t%s / %s\t%.2f%%\t%s / %s\t%d\n", c.Name, c.CPUPercent,
			MemorySize(c.MemoryBytes), MemorySize(c.MemoryLimit), c.MemoryPercent,
			NetworkSize(c.NetRx), NetworkSize(c.NetTx), c.Pids)
	}
	return tw.Flush()
}

// WriteStatsJSON writes one sample as one JSON object per container and
// line (ndjson).
func WriteStatsJSON(w io.Writer, cs []ContainerStats) error {
	enc := json.NewEncoder(w)
	for _, c := range cs {
		if err := enc.Encode(c); err != nil {
			return err
		}
	}
	return nil
}

// StatsOutput is how `berth stats` prints samples: with JSON one object
// per container and sample (ndjson), else a table per sample, redrawn in
// place (cursor home, clear screen) with Redraw, one after the other
// without.
type StatsOutput struct {
	W      io.Writer
	JSON   bool
	Redraw bool
}

// Sample prints one sample.
func (o StatsOutput) Sample(s StatsSample) error {
	if o.JSON {
		return WriteStatsJSON(o.W, s.Containers)
	}
	if o.Redraw {
		fmt.Fprint(o.W, "\033[H\033[2J")
	}
	return WriteStats(o.W, s.Containers)
}

// MemorySize formats memory as docker stats does (KiB, MiB, GiB).
func MemorySize(n uint64) string { return units.BytesSize(float64(n)) }

// NetworkSize formats network bytes as docker stats does (kB, MB, GB).
func NetworkSize(n uint64) string { return units.HumanSize(float64(n)) }

// WritePrune writes what prune removed and a summary line (volumes only
// when they were pruned).
func WritePrune(w io.Writer, rep PruneReport, volumes bool) {
	for _, c := range rep.Containers {
		fmt.Fprintf(w, "Removed container %s\n", c)
	}
	for _, i := range rep.Images {
		fmt.Fprintf(w, "Removed image %s\n", i)
	}
	for _, v := range rep.Volumes {
		fmt.Fprintf(w, "Removed volume %s\n", v)
	}
	snaps := fmt.Sprintf("%d snapshots", rep.Snapshots)
	if rep.Snapshots < 0 {
		snaps = "snapshots not pruned (the daemon's image store cannot)"
	}
	summary := fmt.Sprintf("Pruned %d containers, %d images, %s", len(rep.Containers), len(rep.Images), snaps)
	if volumes {
		summary += fmt.Sprintf(", %d volumes", len(rep.Volumes))
	}
	fmt.Fprintln(w, summary)
}

// PullOutput prints `berth pull`'s stream on W: "Pulling"/"Pulled" lines,
// only the digest (Quiet) or the final event as one JSON object (JSON);
// layer progress goes to Progress (stderr's renderer), never to W.
type PullOutput struct {
	W           io.Writer
	Quiet, JSON bool
	Progress    func(progress.Event)
}

// Event prints one event of the stream.
func (o PullOutput) Event(ev PullEvent) error {
	switch {
	case ev.Progress != nil:
		if o.Progress != nil {
			o.Progress(*ev.Progress)
		}
	case ev.Status == "pulled" && o.JSON:
		return json.NewEncoder(o.W).Encode(PullEvent{Status: ev.Status, Ref: ev.Ref, Digest: ev.Digest})
	case ev.Status == "pulled" && o.Quiet:
		fmt.Fprintln(o.W, ev.Digest)
	case ev.Status == "pulled":
		fmt.Fprintf(o.W, "Pulled %s\nDigest: %s\n", ev.Ref, ev.Digest)
	case ev.Status == "pulling" && !o.Quiet && !o.JSON:
		fmt.Fprintf(o.W, "Pulling %s\n", ev.Ref)
	}
	return nil
}
