package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/berth-dev/berth/bench/internal/benchkit"
)

// step is one measured situation; every tool goes through the same steps.
type step struct {
	Name  string `json:"name"`
	Title string `json:"title"`
	push  bool
	// empty: reset with resetEmpty (tools without one skip the step);
	// cold: reset with reset; else the caches stay as the last step left them.
	cold, empty bool
	edit        func() error // applied once before the step, to every workspace
}

// stepResult holds every tool's runs of one step.
type stepResult struct {
	Name   string                  `json:"name"`
	Title  string                  `json:"title"`
	Runs   map[string][]runResult  `json:"runs"`   // per tool, one per round
	Median map[string]float64      `json:"median"` // per tool, seconds
	Detail map[string][]cmdTiming  `json:"median_commands"`
	Layers map[string][]berthLayer `json:"median_berth_layers,omitempty"`
}

func benchmark(ctx context.Context, o options, progressW io.Writer) (*output, error) {
	start := time.Now()
	progress := benchkit.Progress(progressW, "buildbench")
	root, err := benchkit.ModuleRoot(ctx, "buildbench")
	if err != nil {
		return nil, err
	}
	tmp, cleanup, err := benchkit.WorkDir("", "buildbench", o.Keep, progressW)
	if err != nil {
		return nil, err
	}
	defer cleanup()
	meta := runMeta{Host: benchkit.ReadHost(), Versions: map[string]string{}}
	meta.Rounds = o.rounds
	meta.Versions["go"] = benchkit.VersionLine(ctx, nil, "go", "version")

	// --- binaries ----------------------------------------------------------
	berthBin := o.berthBin
	if berthBin == "" {
		berthBin = filepath.Join(tmp, "bin", "berth")
		progress("building berth")
		if err := runCmd(ctx, root, nil, "go", "build", "-o", berthBin, "./cmd/berth"); err != nil {
			return nil, err
		}
	}
	meta.Versions["berth"] = benchkit.VersionLine(ctx, nil, berthBin, "version")
	var koBin string
	if slices.Contains(o.tools, "ko") {
		if koBin, err = findKo(ctx, root, o.koBin, progress); err != nil {
			return nil, err
		}
		meta.Versions["ko"] = benchkit.VersionLine(ctx, nil, koBin, "version")
	}

	// --- services ----------------------------------------------------------
	progress("preparing the apt repository %s", o.aptRepo)
	if err := ensureAptRepo(ctx, root, o.aptRepo); err != nil {
		return nil, err
	}
	apt, err := startAptServer(o.aptRepo)
	if err != nil {
		return nil, err
	}
	defer apt.stop()
	reg, regAddr, err := startRegistry(ctx, berthBin, filepath.Join(tmp, "registry"))
	if err != nil {
		return nil, err
	}
	defer reg.Stop(10 * time.Second)
	var dockerd *benchkit.Dockerd
	if slices.Contains(o.tools, "docker") {
		for _, bin := range []string{o.dockerBin, o.dockerdBin} {
			if _, err := os.Stat(bin); err != nil {
				return nil, fmt.Errorf("%s: %w (install Debian package docker.io, or pass -tools berth,ko)", bin, err)
			}
		}
		dir, err := shortDir(tmp)
		if err != nil {
			return nil, err
		}
		progress("starting dockerd (%s storage)", o.dockerStorage)
		if dockerd, err = startDockerd(ctx, o.dockerdBin, o.dockerBin, o.dockerStorage, dir); err != nil {
			return nil, err
		}
		defer dockerd.Stop()
		meta.Versions["docker"] = benchkit.VersionLine(ctx, dockerd.Env, o.dockerBin, "version", "-f", "client {{.Client.Version}}, daemon {{.Server.Version}}, "+o.dockerStorage)
	}

	// --- workspaces, Go build caches, base image --------------------------
	ws, err := prepareWorkspaces(ctx, filepath.Join(root, "examples", "goapp"), filepath.Join(tmp, "ws"), o.tools)
	if err != nil {
		return nil, err
	}
	// Every tool gets its own copy of one warm Go build cache: a cold Go
	// cache would make every step a 20 s compile of the standard library,
	// and a shared one would let whichever tool builds an edit first pay
	// the compile for the others.
	progress("warming a Go build cache (standard library, once)")
	goTpl := filepath.Join(tmp, "gocache-template")
	goEnv := []string{"CGO_ENABLED=0", "GOFLAGS=", "GOCACHE=" + goTpl}
	if err := runCmd(ctx, ws["berth"], goEnv, "go", "build", "-trimpath", "-buildvcs=false", "-ldflags", goLdflags, "-o", filepath.Join(tmp, "warm.bin"), "."); err != nil {
		return nil, err
	}
	aptEnv := "BERTH_APT_URL=" + apt.url
	baseCache := filepath.Join(tmp, "berth-base-cache")
	baseEnv := []string{aptEnv, "BERTH_CACHE=" + baseCache, "GOCACHE=" + goTpl}
	progress("building the base image with berth (from .debs) and pushing it to the registry")
	if err := runCmd(ctx, ws["berth"], baseEnv, berthBin, "build", "base", "--push", regAddr+"/base:v1"); err != nil {
		return nil, err
	}
	var tools []*tool
	for _, name := range o.tools {
		goCache := filepath.Join(tmp, "gocache-"+name)
		if err := runCmd(ctx, "", nil, "cp", "-a", goTpl, goCache); err != nil {
			return nil, err
		}
		env := []string{"CGO_ENABLED=0", "GOFLAGS=", "GOCACHE=" + goCache}
		switch name {
		case "berth":
			tools = append(tools, newBerthTool(berthBin, ws[name], filepath.Join(tmp, "berth-cache"), baseCache, regAddr, append(env, aptEnv)))
		case "docker":
			archive := filepath.Join(tmp, "base.tar")
			if err := runCmd(ctx, ws["berth"], baseEnv, berthBin, "build", "base", "--docker-archive", archive, "--tag", "v1"); err != nil {
				return nil, err
			}
			if err := runCmd(ctx, "", dockerd.Env, o.dockerBin, "load", "-q", "-i", archive); err != nil {
				return nil, err
			}
			tools = append(tools, newDockerTool(o.dockerBin, dockerd, o.builder, ws[name], regAddr, env))
		case "ko":
			// An empty docker config keeps the host's credentials out.
			env = append(env, "DOCKER_CONFIG="+filepath.Join(tmp, "ko-docker-config"))
			tools = append(tools, newKoTool(koBin, ws[name], regAddr, env))
		}
	}
	for _, t := range tools {
		meta.Setup = append(meta.Setup, t.name+": "+t.setup)
	}
	ed, err := newEdits(ws["berth"], tools)
	if err != nil {
		return nil, err
	}

	// Prime: every tool builds and pushes once, so the registry holds the
	// base layers in every tool's repository (a warm registry) and docker
	// knows which of its layers the registry has.
	for _, t := range tools {
		progress("prime: %s build + push", t.name)
		if err := t.reset(ctx); err != nil {
			return nil, fmt.Errorf("%s reset: %w", t.name, err)
		}
		if _, err := t.pipeline(ctx, true); err != nil {
			return nil, fmt.Errorf("%s prime: %w", t.name, err)
		}
	}
	meta.SetupSecs = time.Since(start).Seconds()

	steps := []step{
		{Name: "cold-empty", Title: "cold, empty cache (berth builds the base from .debs too)", empty: true},
		{Name: "cold", Title: "cold (tool's build cache empty; base image and Go build cache present)", cold: true},
		{Name: "noop", Title: "no-op rebuild"},
		{Name: "static+push", Title: "static/index.html changed, rebuild + push", push: true, edit: ed.static},
		{Name: "main.go+push", Title: "main.go changed, rebuild + push", push: true, edit: ed.main},
	}
	results := make([]stepResult, len(steps))
	for i, s := range steps {
		results[i] = stepResult{Name: s.Name, Title: s.Title, Runs: map[string][]runResult{}}
	}
	n := 0
	for round := range o.rounds {
		for i, s := range steps {
			if s.edit != nil {
				if err := s.edit(); err != nil {
					return nil, fmt.Errorf("edit for %s: %w", s.Name, err)
				}
			}
			// Alternate the order (A B C, C B A, ...) so that noise and a
			// warming page cache fall on every tool alike.
			order := slices.Clone(tools)
			if n%2 == 1 {
				slices.Reverse(order)
			}
			n++
			for _, t := range order {
				switch {
				case s.empty && t.resetEmpty == nil:
					continue
				case s.empty:
					if err := t.resetEmpty(ctx); err != nil {
						return nil, fmt.Errorf("%s reset: %w", t.name, err)
					}
				case s.cold:
					if err := t.reset(ctx); err != nil {
						return nil, fmt.Errorf("%s reset: %w", t.name, err)
					}
				}
				r, err := t.pipeline(ctx, s.push)
				if err != nil {
					return nil, fmt.Errorf("round %d, %s, %s: %w", round+1, s.Name, t.name, err)
				}
				progress("round %d/%d: %-12s %-6s %6.3f s", round+1, o.rounds, s.Name, t.name, r.Seconds)
				results[i].Runs[t.name] = append(results[i].Runs[t.name], r)
			}
		}
	}
	for i := range results {
		results[i].summarise()
	}

	// --- image sizes (from the registry, the same way for every tool) -----
	sizes := map[string]imgSize{}
	base, err := measureImage(ctx, regAddr+"/base:v1", nil)
	if err != nil {
		return nil, err
	}
	sizes["base"] = base
	for _, t := range tools {
		sz, err := measureImage(ctx, t.ref, base.diffIDs())
		if err != nil {
			return nil, fmt.Errorf("%s image: %w", t.name, err)
		}
		sizes[t.name] = sz
	}

	// Process start-up is the floor under a no-op build.
	var startup []float64
	for range 5 {
		var r runResult
		if err := timedCmd(ctx, &r, "berth version", "", nil, nil, berthBin, "version"); err != nil {
			return nil, err
		}
		startup = append(startup, r.Seconds)
	}

	meta.TotalSecs = time.Since(start).Seconds()
	out := &output{Meta: meta, Tools: o.tools, Steps: results, Sizes: sizes}
	out.Targets = judgeTargets(out)
	out.Notes = notes(out, benchkit.Median(startup))
	return out, nil
}

// summarise picks, per tool, the run with the median total time (the
// lower middle one for an even count).
func (s *stepResult) summarise() {
	s.Median, s.Detail, s.Layers = map[string]float64{}, map[string][]cmdTiming{}, map[string][]berthLayer{}
	for name, runs := range s.Runs {
		m := benchkit.MedianBy(runs, benchkit.ByValue(func(r runResult) float64 { return r.Seconds }))
		s.Median[name] = m.Seconds
		s.Detail[name] = m.Commands
		if len(m.BerthLayers) > 0 {
			s.Layers[name] = m.BerthLayers
		}
	}
}
