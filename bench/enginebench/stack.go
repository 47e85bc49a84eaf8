//go:build linux

package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// stackResult is `berth up` of a stack of several independent services,
// and, for reference, the same containers started by sequential
// `docker run -d` (not docker compose: Debian's docker-compose is not part
// of docker.io).
type stackResult struct {
	Services int `json:"services"`
	// Per run, ms: the command returned / every service's marker appeared.
	BerthUp      []float64 `json:"berth_up_ms"`
	BerthMarkers []float64 `json:"berth_markers_ms"`
	DockerRuns   []float64 `json:"docker_runs_ms,omitempty"`
	DockerMarker []float64 `json:"docker_markers_ms,omitempty"`
	// Medians.
	BerthUpMedian      float64 `json:"berth_up_median_ms"`
	BerthMarkersMedian float64 `json:"berth_markers_median_ms"`
	DockerRunsMedian   float64 `json:"docker_runs_median_ms,omitempty"`
	DockerMarkerMedian float64 `json:"docker_markers_median_ms,omitempty"`
}

func stackYAML(ref, markerDir string, services int) string {
	var b strings.Builder
	b.WriteString("services:\n")
	for i := 1; i <= services; i++ {
		fmt.Fprintf(&b, `  s%d:
    image: %s
    entrypoint: ["/bin/sh", "-c", "touch /m/s%d; exec sleep 3600"]
    volumes: ["%s:/m"]
    stop_signal: SIGKILL
`, i, ref, i, markerDir)
	}
	return b.String()
}

func measureStack(ctx context.Context, w *markerWatcher, b *berthDaemon, berthBin string, d *dockerDaemon, img *image, dir string, services, runs int, progress func(string, ...any)) (*stackResult, error) {
	const stack = "eb-stack"
	markerDir := filepath.Join(dir, "markers", "stack")
	if err := w.watch(markerDir); err != nil {
		return nil, err
	}
	file := filepath.Join(dir, "stack.yaml")
	if err := os.WriteFile(file, []byte(stackYAML(img.ref, markerDir, services)), 0o644); err != nil {
		return nil, err
	}
	var markers []string
	for i := 1; i <= services; i++ {
		markers = append(markers, filepath.Join(markerDir, fmt.Sprintf("s%d", i)))
	}
	clear := func() error {
		for _, m := range markers {
			if err := os.Remove(m); err != nil && !os.IsNotExist(err) {
				return err
			}
		}
		w.drain()
		return nil
	}
	res := &stackResult{Services: services}
	for run := range runs {
		progress("%d-service stack, run %d/%d", services, run+1, runs)
		if err := clear(); err != nil {
			return nil, err
		}
		t0 := time.Now()
		out, err := exec.CommandContext(ctx, berthBin, "up", "-f", file, "-p", stack, "--socket", b.socket).CombinedOutput()
		returned := time.Now()
		if err != nil {
			_ = b.down(context.WithoutCancel(ctx), stack)
			return nil, fmt.Errorf("berth up of the %d-service stack: %v: %s", services, err, tail(out, 2000))
		}
		at, err := w.wait(30*time.Second, markers...)
		if derr := b.down(context.WithoutCancel(ctx), stack); err == nil {
			err = derr
		}
		if err != nil {
			return nil, err
		}
		res.BerthUp = append(res.BerthUp, ms(returned.Sub(t0)))
		res.BerthMarkers = append(res.BerthMarkers, ms(at.Sub(t0)))

		if d == nil {
			continue
		}
		if err := clear(); err != nil {
			return nil, err
		}
		t0 = time.Now()
		for i := 1; i <= services; i++ {
			args := append([]string{"run", "-d", "--name", fmt.Sprintf("eb-stack-s%d", i), "-v", markerDir + ":/m", img.dockerRef},
				"/bin/sh", "-c", fmt.Sprintf("touch /m/s%d; exec sleep 3600", i))
			if _, err := d.Run(ctx, args...); err != nil {
				_ = d.RemoveAll(context.WithoutCancel(ctx))
				return nil, err
			}
		}
		returned = time.Now()
		at, err = w.wait(30*time.Second, markers...)
		if rerr := d.RemoveAll(context.WithoutCancel(ctx)); err == nil {
			err = rerr
		}
		if err != nil {
			return nil, err
		}
		res.DockerRuns = append(res.DockerRuns, ms(returned.Sub(t0)))
		res.DockerMarker = append(res.DockerMarker, ms(at.Sub(t0)))
	}
	res.BerthUpMedian, res.BerthMarkersMedian = quantile(res.BerthUp, 0.5), quantile(res.BerthMarkers, 0.5)
	res.DockerRunsMedian, res.DockerMarkerMedian = quantile(res.DockerRuns, 0.5), quantile(res.DockerMarker, 0.5)
	return res, nil
}
