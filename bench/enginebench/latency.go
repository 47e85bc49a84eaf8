//go:build linux

package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/berth-dev/berth/internal/engine"
	"github.com/berth-dev/berth/internal/model"
)

// method is one way of starting a container, measured the same way as all
// others: the clock starts just before start is called and stops when the
// container's marker file appears.
type method struct {
	Name  string `json:"name"`
	Title string `json:"title"`
	Tool  string `json:"tool"`
	// markerDir is bind-mounted at /m; the container creates /m/ready.
	markerDir string
	start     func(ctx context.Context, run int) error
	// afterStart runs once the marker appeared, before stop (untimed): it
	// may read berth's per-container files for the phase breakdown.
	afterStart func(ctx context.Context, run int, t0, marker, returned time.Time) error
	stop       func(ctx context.Context, run int) error
}

// latencyResult is one method's runs.
type latencyResult struct {
	Name  string `json:"name"`
	Title string `json:"title"`
	Tool  string `json:"tool"`
	// Milliseconds from the start of the command to the marker, per run.
	Runs []float64 `json:"runs_ms"`
	// Milliseconds until the command (or API call) returned, per run.
	Returned []float64 `json:"returned_ms"`
	Median   float64   `json:"median_ms"`
	P90      float64   `json:"p90_ms"`
	Min      float64   `json:"min_ms"`
	Max      float64   `json:"max_ms"`
	// MedianReturned is the median of Returned.
	MedianReturned float64 `json:"median_returned_ms"`
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// measureLatency runs every method runs times, interleaved: run i starts
// the methods in an order rotated by i, so drift (page cache, other load)
// falls on all of them alike. One untimed warm-up per method comes first.
func measureLatency(ctx context.Context, w *markerWatcher, methods []*method, runs int, settle time.Duration, progress func(string, ...any)) ([]latencyResult, error) {
	results := make([]latencyResult, len(methods))
	for i, m := range methods {
		results[i] = latencyResult{Name: m.Name, Title: m.Title, Tool: m.Tool}
		if err := w.watch(m.markerDir); err != nil {
			return nil, err
		}
	}
	once := func(m *method, run int) (time.Duration, time.Duration, error) {
		marker := filepath.Join(m.markerDir, "ready")
		if err := os.Remove(marker); err != nil && !os.IsNotExist(err) {
			return 0, 0, err
		}
		w.drain()
		// No start may hang the benchmark; the slowest take well under a second.
		sctx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		t0 := time.Now()
		if err := m.start(sctx, run); err != nil {
			_ = m.stop(context.WithoutCancel(ctx), run)
			return 0, 0, fmt.Errorf("%s, run %d: %w", m.Name, run, err)
		}
		returned := time.Now()
		at, err := w.wait(30*time.Second, marker)
		if err == nil && m.afterStart != nil {
			err = m.afterStart(ctx, run, t0, at, returned)
		}
		if serr := m.stop(context.WithoutCancel(ctx), run); err == nil && serr != nil {
			err = fmt.Errorf("stop: %w", serr)
		}
		if err != nil {
			return 0, 0, fmt.Errorf("%s, run %d: %w", m.Name, run, err)
		}
		// The same pause after every method's stop: what a start or stop
		// leaves running in the background settles before the next
		// measurement instead of landing on whichever method comes next.
		select {
		case <-time.After(settle):
		case <-ctx.Done():
			return 0, 0, ctx.Err()
		}
		return at.Sub(t0), returned.Sub(t0), nil
	}
	for _, m := range methods {
		progress("warm-up: %s", m.Name)
		if _, _, err := once(m, -1); err != nil {
			return nil, err
		}
	}
	for run := range runs {
		progress("latency run %d/%d", run+1, runs)
		for k := range methods {
			i := (k + run) % len(methods)
			d, r, err := once(methods[i], run)
			if err != nil {
				return nil, err
			}
			results[i].Runs = append(results[i].Runs, ms(d))
			results[i].Returned = append(results[i].Returned, ms(r))
		}
	}
	for i := range results {
		r := &results[i]
		r.Median, r.P90 = quantile(r.Runs, 0.5), quantile(r.Runs, 0.9)
		r.Min, r.Max = quantile(r.Runs, 0), quantile(r.Runs, 1)
		r.MedianReturned = quantile(r.Returned, 0.5)
	}
	return results, nil
}

// --- raw runc -------------------------------------------------------------

// runcMethod runs a prepared bundle with `runc run -d` (create + start in
// one command, stdio on /dev/null) and removes it with `runc delete -f`.
func runcMethod(name, title, runcBin, runcRoot, bundle, markerDir string) *method {
	id := func(run int) string { return fmt.Sprintf("enginebench-%s-%d", name, run+1) }
	return &method{
		Name: name, Title: title, Tool: "runc", markerDir: markerDir,
		start: func(ctx context.Context, run int) error {
			// The detached container inherits runc's stdio: a pipe would
			// stay open as long as it runs, so its output goes to a file.
			out, err := os.CreateTemp(bundle, "runc-output-")
			if err != nil {
				return err
			}
			defer os.Remove(out.Name())
			defer out.Close()
			cmd := exec.CommandContext(ctx, runcBin, "--root", runcRoot, "run", "-d", "--bundle", bundle, id(run))
			cmd.Stdout, cmd.Stderr = out, out
			if err := cmd.Run(); err != nil {
				msg, _ := os.ReadFile(out.Name())
				return fmt.Errorf("runc run: %v: %s", err, tail(msg, 1000))
			}
			return nil
		},
		stop: func(ctx context.Context, run int) error {
			out, err := exec.CommandContext(ctx, runcBin, "--root", runcRoot, "delete", "-f", id(run)).CombinedOutput()
			if err != nil {
				return fmt.Errorf("runc delete: %v: %s", err, tail(out, 1000))
			}
			return nil
		},
	}
}

// --- docker ---------------------------------------------------------------

func dockerMethod(d *dockerDaemon, ref, markerDir string) *method {
	name := func(run int) string { return fmt.Sprintf("enginebench-%d", run+1) }
	return &method{
		Name: "docker", Title: "`docker run -d`", Tool: "docker", markerDir: markerDir,
		start: func(ctx context.Context, run int) error {
			_, err := d.Run(ctx, append([]string{"run", "-d", "--name", name(run), "-v", markerDir + ":/m", ref}, markerCommand("ready")...)...)
			return err
		},
		stop: func(ctx context.Context, run int) error {
			_, err := d.Run(ctx, "rm", "-f", name(run))
			return err
		},
	}
}

// --- berth ----------------------------------------------------------------

// benchService is the one-service stack's service as the engine receives
// it. SIGKILL stops it at once: sleep as PID 1 ignores SIGTERM, and the
// stop is not measured anyway.
func benchService(ref, markerDir string, replicas int) model.ServiceSpec {
	return model.ServiceSpec{
		Name: "app", Image: ref, Entrypoint: markerCommand("ready"), Replicas: replicas,
		Mounts:     []model.Mount{{Type: "bind", Source: markerDir, Target: "/m"}},
		Restart:    model.RestartPolicy{Mode: model.RestartNo},
		StopSignal: syscall.SIGKILL,
	}
}

// oneServiceYAML is the same stack as a file for `berth up`.
func oneServiceYAML(ref, markerDir string) string {
	return fmt.Sprintf(`services:
  app:
    image: %s
    entrypoint: ["/bin/sh", "-c", "touch /m/ready; exec sleep 3600"]
    volumes: ["%s:/m"]
    stop_signal: SIGKILL
`, ref, markerDir)
}

func (b *berthDaemon) up(ctx context.Context, spec model.StackSpec) ([]engine.Container, error) {
	var cs []engine.Container
	err := b.client.Do(ctx, http.MethodPost, "/stacks/"+url.PathEscape(spec.Name)+"/up", nil, spec, &cs)
	return cs, err
}

func (b *berthDaemon) down(ctx context.Context, stack string) error {
	return b.client.Do(ctx, http.MethodPost, "/stacks/"+url.PathEscape(stack)+"/down", nil, nil, nil)
}

func (b *berthDaemon) containers(ctx context.Context, stack string) ([]engine.Container, error) {
	var cs []engine.Container
	err := b.client.Do(ctx, http.MethodGet, "/containers", url.Values{"stack": {stack}}, nil, &cs)
	return cs, err
}

// berthCLIMethod: `berth up -f one.yaml -p eb-cli` (a new stack, so its
// network is created too), `berth down` afterwards.
func berthCLIMethod(b *berthDaemon, bin, file, markerDir string, phases *phaseCollector) *method {
	const stack = "eb-cli"
	return &method{
		Name: "berth-up", Title: "`berth up` (CLI, new 1-service stack)", Tool: "berth", markerDir: markerDir,
		start: func(ctx context.Context, _ int) error {
			cmd := exec.CommandContext(ctx, bin, "up", "-f", file, "-p", stack, "--socket", b.socket)
			if out, err := cmd.CombinedOutput(); err != nil {
				return fmt.Errorf("berth up: %v: %s", err, tail(out, 2000))
			}
			return nil
		},
		afterStart: func(ctx context.Context, run int, t0, marker, returned time.Time) error {
			cs, err := b.containers(ctx, stack)
			if err != nil || len(cs) != 1 {
				return fmt.Errorf("berth ps -p %s: %d containers, %v", stack, len(cs), err)
			}
			phases.add("berth-up", run, filepath.Join(b.root, "containers", cs[0].ID), t0, marker, returned)
			return nil
		},
		stop: func(ctx context.Context, _ int) error { return b.down(ctx, stack) },
	}
}

// berthScaleCLIMethod: `berth scale -p STACK app=2` against a running
// one-service stack — one more container in a network that exists, from
// a CLI process, as `docker run -d` is; the stop scales back to 1.
func berthScaleCLIMethod(b *berthDaemon, bin, ref, markerDir string, phases *phaseCollector) *method {
	const stack = "eb-scli"
	return &method{
		Name: "berth-scale-cli", Title: "`berth scale` (CLI), +1 replica in a running stack", Tool: "berth", markerDir: markerDir,
		start: func(ctx context.Context, _ int) error {
			cmd := exec.CommandContext(ctx, bin, "scale", "-p", stack, "--socket", b.socket, "app=2")
			if out, err := cmd.CombinedOutput(); err != nil {
				return fmt.Errorf("berth scale: %v: %s", err, tail(out, 2000))
			}
			return nil
		},
		afterStart: func(ctx context.Context, run int, t0, marker, returned time.Time) error {
			cs, err := b.containers(ctx, stack)
			if err != nil {
				return err
			}
			for _, c := range cs {
				if c.Replica == 2 {
					phases.add("berth-scale-cli", run, filepath.Join(b.root, "containers", c.ID), t0, marker, returned)
					return nil
				}
			}
			return fmt.Errorf("berth ps -p %s: no replica 2 among %d containers", stack, len(cs))
		},
		stop: func(ctx context.Context, _ int) error {
			return b.client.Do(ctx, http.MethodPost, "/stacks/"+stack+"/scale", nil, map[string]int{"app": 1}, nil)
		},
	}
}

// berthAPIMethod: the same stack through the daemon's API directly (what
// `berth up` sends), without the CLI process and the stack file loading.
func berthAPIMethod(b *berthDaemon, ref, markerDir string, phases *phaseCollector) *method {
	const stack = "eb-api"
	return &method{
		Name: "berth-api", Title: "berth API `POST /v1/stacks/…/up` (new 1-service stack)", Tool: "berth", markerDir: markerDir,
		start: func(ctx context.Context, run int) error {
			cs, err := b.up(ctx, model.StackSpec{Name: stack, Services: []model.ServiceSpec{benchService(ref, markerDir, 1)}})
			if err == nil && len(cs) == 1 {
				phases.pending = filepath.Join(b.root, "containers", cs[0].ID)
			}
			return err
		},
		afterStart: func(_ context.Context, run int, t0, marker, returned time.Time) error {
			phases.add("berth-api", run, phases.pending, t0, marker, returned)
			return nil
		},
		stop: func(ctx context.Context, _ int) error { return b.down(ctx, stack) },
	}
}

// berthScaleMethod: one more container in a running stack (its network
// exists): the API call scales the service from 1 to 2 replicas; the stop
// scales it back. It is the nearest berth has to a "create and start one
// container" call.
func berthScaleMethod(b *berthDaemon, ref, markerDir string, phases *phaseCollector) *method {
	const stack = "eb-warm"
	spec := func(n int) model.StackSpec {
		return model.StackSpec{Name: stack, Services: []model.ServiceSpec{benchService(ref, markerDir, n)}}
	}
	return &method{
		Name: "berth-scale", Title: "berth API, +1 replica in a running stack", Tool: "berth", markerDir: markerDir,
		start: func(ctx context.Context, _ int) error {
			cs, err := b.up(ctx, spec(2))
			for _, c := range cs {
				if c.Replica == 2 {
					phases.pending = filepath.Join(b.root, "containers", c.ID)
				}
			}
			return err
		},
		afterStart: func(_ context.Context, run int, t0, marker, returned time.Time) error {
			phases.add("berth-scale", run, phases.pending, t0, marker, returned)
			return nil
		},
		stop: func(ctx context.Context, _ int) error {
			_, err := b.up(ctx, spec(1))
			return err
		},
	}
}
