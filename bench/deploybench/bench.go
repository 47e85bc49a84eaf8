//go:build linux

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/berth-dev/berth/bench/internal/benchkit"
)

// runMeta describes the run for the report header and JSON.
type runMeta struct {
	benchkit.Host
	Versions  map[string]string `json:"versions"`
	Load      string            `json:"load"`
	SetupSecs float64           `json:"setup_seconds"`
	TotalSecs float64           `json:"total_seconds"`
}

// output is the -json file.
type output struct {
	Meta       runMeta           `json:"meta"`
	Throughput *throughputResult `json:"throughput,omitempty"`
	// Releases lists every release; BerthRelease says why berth's are
	// missing when they are.
	Releases     []releaseResult `json:"releases"`
	BerthRelease string          `json:"berth_release_unavailable,omitempty"`
	Targets      []target        `json:"targets"`
	Notes        []string        `json:"notes"`
}

func benchmark(ctx context.Context, o options, progressW io.Writer) (_ *output, err error) {
	start := time.Now()
	progress := benchkit.Progress(progressW, "deploybench")
	if os.Geteuid() != 0 {
		return nil, errors.New("needs root (the berth daemon, dockerd)")
	}
	wantRelease := slices.Contains(o.parts, "release")
	need := []string{o.wrkBin, o.nginxBin}
	if wantRelease {
		need = append(need, o.dockerBin, o.dockerdBin, o.composeBin)
	}
	for _, p := range need {
		if _, err := os.Stat(p); err != nil {
			return nil, fmt.Errorf("%s: %w (bench/deploy.sh installs wrk, nginx, docker.io and docker-compose)", p, err)
		}
	}
	root, err := benchkit.ModuleRoot(ctx, "deploybench")
	if err != nil {
		return nil, err
	}
	tmp, cleanup, err := benchkit.WorkDir("/tmp", "deploybench", o.Keep, progressW) // short: dockerd's sockets live below it
	if err != nil {
		return nil, err
	}
	defer cleanup()
	berthBin, err := findBerth(ctx, o.berthBin, root, tmp, progress)
	if err != nil {
		return nil, err
	}
	out := &output{Meta: runMeta{Host: benchkit.ReadHost(), Versions: map[string]string{}}}
	out.Meta.Versions["berth"] = benchkit.VersionLine(ctx, nil, berthBin, "version")
	out.Meta.Versions["wrk"] = benchkit.VersionLine(ctx, nil, o.wrkBin, "-v")
	out.Meta.Versions["nginx"] = benchkit.VersionLine(ctx, nil, o.nginxBin, "-v")
	out.Meta.Load = fmt.Sprintf("%d keep-alive connections, %g req/s in all (GET %s), counted from %s before to %s after the release command", o.workers, o.rate, benchPath("goapp"), o.settle, o.settle)

	progress("building the app (v%s, v%s) with berth build", appVersions[0], appVersions[1])
	im, err := buildImages(ctx, berthBin, root, o.aptRepo, filepath.Join(tmp, "images"), wantRelease)
	if err != nil {
		return nil, err
	}
	progress("starting the berth daemon")
	bd, err := startBerth(ctx, berthBin, filepath.Join(tmp, "berth"))
	if err != nil {
		return nil, err
	}
	defer bd.stop()
	if !bd.hasProxy {
		out.Notes = append(out.Notes, "this berth has no `berth proxy`: its published port is CNI's portmap (iptables DNAT), not the proxy, so the proxy targets are N/A")
	}
	out.Meta.SetupSecs = time.Since(start).Seconds()

	if slices.Contains(o.parts, "proxy") {
		if out.Throughput, err = measureThroughput(ctx, o, bd, im, filepath.Join(tmp, "proxy"), progress); err != nil {
			return nil, err
		}
	}
	if wantRelease {
		if err := measureReleases(ctx, o, bd, im, tmp, out, progress); err != nil {
			return nil, err
		}
	}
	out.Targets = judgeTargets(out)
	out.Notes = append(out.Notes, notes(out)...)
	out.Meta.TotalSecs = time.Since(start).Seconds()
	return out, nil
}

// measureReleases alternates berth's and compose's releases, v1→v2 then
// v2→v1 and so on, each under the same steady load.
func measureReleases(ctx context.Context, o options, bd *berthDaemon, im *images, tmp string, out *output, progress func(string, ...any)) error {
	var br *berthRelease
	if !bd.hasDeploy {
		out.BerthRelease = "berth deploy unavailable: this berth has no deploy command"
		progress("%s; measuring compose only", out.BerthRelease)
	} else {
		progress("release: berth deploy of 3 replicas (v%s)", appVersions[0])
		var err error
		if br, err = startBerthRelease(ctx, bd, im, filepath.Join(tmp, "berth-release")); err != nil {
			return err
		}
		defer bd.run(context.WithoutCancel(ctx), "down", "-p", releaseStack) //nolint:errcheck // bd.stop takes every stack down anyway
	}
	progress("release: starting dockerd and docker-compose up -d (v%s)", appVersions[0])
	cidr, err := benchkit.FreeSubnet()
	if err != nil {
		return err
	}
	dd, err := benchkit.StartDockerd(ctx, o.dockerdBin, o.dockerBin, filepath.Join(tmp, "d"), "dbench0", cidr)
	if err != nil {
		return err
	}
	defer dd.Stop()
	if v, err := dd.Run(ctx, "version", "--format", "{{.Server.Version}}"); err == nil {
		out.Meta.Versions["docker"] = strings.TrimSpace(v)
	}
	out.Meta.Versions["docker-compose"] = benchkit.VersionLine(ctx, nil, o.composeBin, "version", "--short")
	cr, err := startCompose(ctx, dd, o.composeBin, im, filepath.Join(tmp, "compose"))
	if err != nil {
		return err
	}
	defer cr.down()

	for i := range o.releases {
		from, to := appVersions[i%2], appVersions[(i+1)%2]
		if br != nil {
			progress("release %d/%d: berth deploy v%s → v%s", i+1, o.releases, from, to)
			r, err := br.release(ctx, o, im, from, to)
			if err != nil {
				return err
			}
			r.Round = i + 1
			out.Releases = append(out.Releases, r)
		}
		progress("release %d/%d: docker-compose up -d v%s → v%s", i+1, o.releases, from, to)
		r, err := cr.release(ctx, o, from, to)
		if err != nil {
			return err
		}
		r.Round = i + 1
		out.Releases = append(out.Releases, r)
	}
	return nil
}

// findBerth uses -berth-bin, else the repository's bin/berth (what
// `make build` and bench/deploy.sh make), else builds one.
func findBerth(ctx context.Context, flagBin, root, tmp string, progress func(string, ...any)) (string, error) {
	if flagBin != "" {
		return flagBin, nil
	}
	if bin := filepath.Join(root, "bin", "berth"); fileExists(bin) {
		return bin, nil
	}
	bin := filepath.Join(tmp, "bin", "berth")
	progress("building berth")
	return bin, benchkit.GoBuild(ctx, root, bin, "./cmd/berth")
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}
