package main

import (
	"fmt"
	"math"
	"strings"
)

// target is one goal from the issue, judged on the measured numbers.
type target struct {
	Name     string   `json:"name"`
	Required string   `json:"required"`
	Ratio    *float64 `json:"ratio,omitempty"`
	Value    string   `json:"value,omitempty"`
	Result   string   `json:"result"` // PASS, FAIL, N/A
}

func ratio(num, den float64) *float64 {
	if den == 0 || math.IsNaN(num) || math.IsNaN(den) {
		return nil
	}
	r := num / den
	return &r
}

func (o *output) step(name string) *stepResult {
	for i := range o.Steps {
		if o.Steps[i].Name == name {
			return &o.Steps[i]
		}
	}
	return nil
}

func passFail(ok bool) string {
	if ok {
		return "PASS"
	}
	return "FAIL"
}

// Targets from the issue.
const (
	noopLimitSeconds = 0.2
	pushSpeedup      = 3.0
)

func judgeTargets(o *output) []target {
	var ts []target
	if s := o.step("noop"); s != nil {
		t := target{Name: "no-op rebuild", Required: fmt.Sprintf("berth ≤ %.1f s", noopLimitSeconds), Result: "N/A"}
		if v, ok := s.Median["berth"]; ok {
			t.Value = fmt.Sprintf("%.3f s", v)
			t.Result = passFail(v <= noopLimitSeconds)
		}
		ts = append(ts, t)
	}
	for _, name := range []string{"static+push", "main.go+push"} {
		s := o.step(name)
		if s == nil {
			continue
		}
		t := target{Name: name, Required: fmt.Sprintf("docker ÷ berth ≥ %g×", pushSpeedup), Result: "N/A"}
		b, okB := s.Median["berth"]
		d, okD := s.Median["docker"]
		if okB && okD {
			t.Ratio = ratio(d, b)
			t.Value = fmt.Sprintf("berth %.3f s, docker %.3f s", b, d)
			t.Result = passFail(t.Ratio != nil && *t.Ratio >= pushSpeedup)
		}
		ts = append(ts, t)
	}
	b, okB := o.Sizes["berth"]
	d, okD := o.Sizes["docker"]
	for _, k := range []struct {
		name string
		get  func(imgSize) int64
	}{
		{"image size, compressed", func(s imgSize) int64 { return s.Compressed }},
		{"image size, uncompressed", func(s imgSize) int64 { return s.Uncompressed }},
	} {
		t := target{Name: k.name, Required: "berth ≤ docker", Result: "N/A"}
		if okB && okD {
			t.Ratio = ratio(float64(k.get(b)), float64(k.get(d)))
			t.Value = fmt.Sprintf("berth %d B, docker %d B", k.get(b), k.get(d))
			t.Result = passFail(k.get(b) <= k.get(d))
		}
		ts = append(ts, t)
	}
	return ts
}

// notes explains where berth's no-op time goes and anything a reader must
// know to read the numbers.
func notes(o *output, startupSeconds float64) []string {
	var ns []string
	if s := o.step("noop"); s != nil {
		if v, ok := s.Median["berth"]; ok {
			var layers float64
			var parts []string
			for _, l := range s.Layers["berth"] {
				layers += l.Seconds
				parts = append(parts, fmt.Sprintf("%s (%s%s) %.3f s", l.Name, l.Kind, map[bool]string{true: ", cached", false: ""}[l.Cached], l.Seconds))
			}
			ns = append(ns, fmt.Sprintf("berth no-op %.3f s: process start-up (`berth version`) %.3f s; the app's layers as `berth build --json` reports them: %s; the rest (%.3f s) is loading berth.yaml and the lock, the base image's layers from cache, and assembling the image.",
				v, startupSeconds, strings.Join(parts, ", "), max(0, v-startupSeconds-layers)))
		}
	}
	if _, ok := o.Sizes["ko"]; ok {
		ns = append(ns, "ko keeps no build cache of its own (KOCACHE unset), so its cold build is its no-op build; it runs `go build` and reads the base image from the registry every time.")
	}
	return ns
}

func formatSeconds(v float64, ok bool) string {
	if !ok {
		return "—"
	}
	return fmt.Sprintf("%.3f", v)
}

func formatRatio(r *float64) string {
	if r == nil {
		return "—"
	}
	return fmt.Sprintf("%.2f×", *r)
}

func mib(n int64) string { return fmt.Sprintf("%.2f", float64(n)/(1<<20)) }

// markdown renders the comparison and targets as GitHub-flavoured Markdown,
// readable as plain text in a terminal too.
func markdown(o *output) string {
	var b strings.Builder
	m := o.Meta
	fmt.Fprintf(&b, "### Build benchmark (%s)\n\n", m.Date)
	fmt.Fprintf(&b, "- Host: %s.\n", m.Host)
	var vs []string
	for _, k := range []string{"berth", "docker", "ko", "go"} {
		if v, ok := m.Versions[k]; ok {
			vs = append(vs, k+": "+v)
		}
	}
	fmt.Fprintf(&b, "- Versions: %s.\n", strings.Join(vs, "; "))
	fmt.Fprintf(&b, "- Image: examples/goapp (`app` of its berth.yaml); every step ran %d time(s) per tool, tools alternating, median shown. Setup (untimed) %.0f s, whole run %.0f s.\n", m.Rounds, m.SetupSecs, m.TotalSecs)
	for _, s := range m.Setup {
		fmt.Fprintf(&b, "- %s\n", s)
	}

	b.WriteString("\nWall time in seconds (median):\n\n| step |")
	for _, t := range o.Tools {
		fmt.Fprintf(&b, " %s |", t)
	}
	others := o.Tools[1:]
	for _, t := range others {
		fmt.Fprintf(&b, " %s ÷ berth |", t)
	}
	b.WriteString("\n|---|" + strings.Repeat("---:|", len(o.Tools)+len(others)) + "\n")
	for _, s := range o.Steps {
		fmt.Fprintf(&b, "| %s |", s.Title)
		for _, t := range o.Tools {
			v, ok := s.Median[t]
			fmt.Fprintf(&b, " %s |", formatSeconds(v, ok))
		}
		for _, t := range others {
			v, okT := s.Median[t]
			bv, okB := s.Median["berth"]
			var r *float64
			if okT && okB {
				r = ratio(v, bv)
			}
			fmt.Fprintf(&b, " %s |", formatRatio(r))
		}
		b.WriteString("\n")
	}
	b.WriteString("\nRatios above 1 mean berth was faster. Per command (the median run):\n\n| step | tool | commands (s) |\n|---|---|---|\n")
	for _, s := range o.Steps {
		for _, t := range o.Tools {
			cmds, ok := s.Detail[t]
			if !ok {
				continue
			}
			var parts []string
			for _, c := range cmds {
				parts = append(parts, fmt.Sprintf("%s %.3f", c.Name, c.Seconds))
			}
			fmt.Fprintf(&b, "| %s | %s | %s |\n", s.Name, t, strings.Join(parts, " + "))
		}
	}

	if len(o.Sizes) > 0 {
		b.WriteString("\nImage size as pushed to the registry (MiB; base image alone: ")
		if base, ok := o.Sizes["base"]; ok {
			fmt.Fprintf(&b, "%s compressed, %s uncompressed, %d layers", mib(base.Compressed), mib(base.Uncompressed), base.Layers)
		}
		b.WriteString("):\n\n| size |")
		for _, t := range o.Tools {
			fmt.Fprintf(&b, " %s |", t)
		}
		for _, t := range others {
			fmt.Fprintf(&b, " %s ÷ berth |", t)
		}
		b.WriteString("\n|---|" + strings.Repeat("---:|", len(o.Tools)+len(others)) + "\n")
		rows := []struct {
			label string
			get   func(imgSize) int64
			unit  func(int64) string
		}{
			{"compressed (manifest + config + layer blobs)", func(s imgSize) int64 { return s.Compressed }, mib},
			{"uncompressed (layer tars)", func(s imgSize) int64 { return s.Uncompressed }, mib},
			{"app layers compressed (not in the base)", func(s imgSize) int64 { return s.OwnCompressed }, mib},
			{"layers", func(s imgSize) int64 { return int64(s.Layers) }, func(n int64) string { return fmt.Sprint(n) }},
		}
		for _, r := range rows {
			fmt.Fprintf(&b, "| %s |", r.label)
			for _, t := range o.Tools {
				s, ok := o.Sizes[t]
				if !ok {
					b.WriteString(" — |")
					continue
				}
				fmt.Fprintf(&b, " %s |", r.unit(r.get(s)))
			}
			for _, t := range others {
				s, okT := o.Sizes[t]
				bs, okB := o.Sizes["berth"]
				var rt *float64
				if okT && okB {
					rt = ratio(float64(r.get(s)), float64(r.get(bs)))
				}
				fmt.Fprintf(&b, " %s |", formatRatio(rt))
			}
			b.WriteString("\n")
		}
	}

	b.WriteString("\n| target | required | measured | ratio | result |\n|---|---|---|---:|---|\n")
	for _, t := range o.Targets {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", t.Name, t.Required, t.Value, formatRatio(t.Ratio), t.Result)
	}
	if len(o.Notes) > 0 {
		b.WriteString("\n")
		for _, n := range o.Notes {
			fmt.Fprintf(&b, "- %s\n", n)
		}
	}
	return b.String()
}
