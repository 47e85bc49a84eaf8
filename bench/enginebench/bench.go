//go:build linux

package main

import (
	"github.com/berth-dev/berth/bench/internal/benchkit"
	"github.com/berth-dev/berth/internal/model"

	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"
)

func benchmark(ctx context.Context, o options, progressW io.Writer) (_ *output, err error) {
	start := time.Now()
	progress := func(format string, args ...any) {
		fmt.Fprintf(progressW, "enginebench: "+format+"\n", args...)
	}
	if os.Geteuid() != 0 {
		return nil, errors.New("needs root (runc, overlay mounts, CNI, dockerd)")
	}
	for _, p := range []string{o.runcBin, "/bin/busybox"} {
		if _, err := os.Stat(p); err != nil {
			return nil, fmt.Errorf("%s: %w (apt-get install runc busybox-static)", p, err)
		}
	}
	root, err := benchkit.ModuleRoot(ctx, "enginebench")
	if err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp("", "enginebench-")
	if err != nil {
		return nil, err
	}
	if o.keep {
		progress("keeping %s", tmp)
	} else {
		defer os.RemoveAll(tmp)
	}
	meta := hostMeta()
	meta.Runs = o.runs
	meta.BackgroundCPU = backgroundCPU(time.Second)

	berthBin := o.berthBin
	if berthBin == "" {
		berthBin = filepath.Join(tmp, "bin", "berth")
		progress("building berth")
		if err := runCmd(ctx, root, nil, "go", "build", "-o", berthBin, "./cmd/berth"); err != nil {
			return nil, err
		}
		// The daemon runs berth-shim from next to its own binary.
		if err := runCmd(ctx, root, nil, "go", "build", "-o", filepath.Join(tmp, "bin", "berth-shim"), "./cmd/berth-shim"); err != nil {
			return nil, err
		}
	}
	meta.Versions["berth"] = outputOf(ctx, berthBin, "version")
	meta.Versions["runc"] = outputOf(ctx, o.runcBin, "--version")

	progress("building the busybox image with berth build")
	img, err := buildImage(ctx, berthBin, filepath.Join(tmp, "image"), "/bin/busybox")
	if err != nil {
		return nil, err
	}

	// --- daemons -------------------------------------------------------------
	progress("starting berth daemon")
	bd, err := startBerthDaemon(ctx, berthBin, filepath.Join(tmp, "berth"))
	if err != nil {
		return nil, err
	}
	defer func() {
		if cerr := stopBerth(bd); err == nil && cerr != nil {
			err = cerr
		}
	}()
	meta.Setup = append(meta.Setup, fmt.Sprintf("berth: `berth daemon --root R --run-dir D --socket S` (its defaults: runc %s from PATH, CNI bridge + portmap + firewall, overlay rootfs, JSON-lines logs, a %s per container).", o.runcBin, supervisorName(berthBin)))
	var dd *dockerDaemon
	if slices.Contains(o.tools, "docker") {
		progress("starting dockerd")
		ddir, err := shortDir(tmp)
		if err != nil {
			return nil, err
		}
		cidr, err := benchkit.FreeSubnet()
		if err != nil {
			return nil, err
		}
		dd, err = benchkit.StartDockerd(ctx, o.dockerdBin, o.dockerBin, ddir, "ebench0", cidr)
		if err != nil {
			return nil, err
		}
		defer dd.Stop()
		meta.Versions["docker"] = outputOf(ctx, o.dockerBin, "version", "--format", "{{.Server.Version}}")
		meta.Versions["containerd"] = outputOf(ctx, "containerd", "--version")
		if meta.Versions["docker"] == "" {
			out, _ := dd.Run(ctx, "version", "--format", "{{.Server.Version}}")
			meta.Versions["docker"] = strings.TrimSpace(out)
		}
		if err := img.loadIntoDocker(ctx, berthBin, dd, filepath.Join(tmp, "image")); err != nil {
			return nil, err
		}
		meta.Setup = append(meta.Setup, "docker: a private dockerd (own data root, exec root, socket; overlay2; json-file logs; runc v2 shim per container), containers on a bridge the benchmark creates (veth + address as with berth), `--iptables=false` (docker adds no per-container rule without published ports anyway).")
	}

	// --- start latency -------------------------------------------------------
	markers := filepath.Join(tmp, "markers")
	w, err := newMarkerWatcher()
	if err != nil {
		return nil, err
	}
	defer w.close()
	phases := newPhaseCollector()
	var methods []*method
	runcRoot := filepath.Join(tmp, "runc-root")
	if slices.Contains(o.tools, "runc") {
		bundle := filepath.Join(tmp, "bundles", "runc")
		if err := runcBundle(ctx, o.runcBin, bundle, img.rootfs, filepath.Join(markers, "runc")); err != nil {
			return nil, err
		}
		methods = append(methods, runcMethod("runc", "raw `runc run -d` (`runc spec` defaults)", o.runcBin, runcRoot, bundle, filepath.Join(markers, "runc")))
		progress("copying berth's OCI spec for a raw runc run")
		specBundle := filepath.Join(tmp, "bundles", "runc-berthspec")
		if err := berthSpecFromDaemon(ctx, bd, img.ref, filepath.Join(markers, "berth-spec-src"), specBundle, img.rootfs, filepath.Join(markers, "runc-berthspec")); err != nil {
			return nil, err
		}
		methods = append(methods, runcMethod("runc-berthspec", "raw `runc run -d` with berth's config.json (no network)", o.runcBin, runcRoot, specBundle, filepath.Join(markers, "runc-berthspec")))
		meta.Setup = append(meta.Setup, "runc: a bundle of the image's rootfs directory (no overlay mount, no network beyond a new netns with loopback down), `runc run -d` then `runc delete -f`; once with `runc spec`'s config, once with the config.json berth generated (Docker's capabilities and seccomp profile, masked paths, cgroup) minus its network namespace path.")
	}
	cliFile := filepath.Join(tmp, "one.yaml")
	if err := os.WriteFile(cliFile, []byte(oneServiceYAML(img.ref, filepath.Join(markers, "berth-up"))), 0o644); err != nil {
		return nil, err
	}
	// The CLI scale method's stack runs its first replica throughout.
	if err := os.MkdirAll(filepath.Join(markers, "berth-scale-cli"), 0o777); err != nil {
		return nil, err
	}
	if _, err := bd.up(ctx, model.StackSpec{Name: "eb-scli", Services: []model.ServiceSpec{benchService(img.ref, filepath.Join(markers, "berth-scale-cli"), 1)}}); err != nil {
		return nil, fmt.Errorf("berth: the stack for berth scale: %w", err)
	}
	methods = append(methods,
		berthScaleMethod(bd, img.ref, filepath.Join(markers, "berth-scale"), phases),
		berthScaleCLIMethod(bd, berthBin, img.ref, filepath.Join(markers, "berth-scale-cli"), phases),
		berthAPIMethod(bd, img.ref, filepath.Join(markers, "berth-api"), phases),
		berthCLIMethod(bd, berthBin, cliFile, filepath.Join(markers, "berth-up"), phases))
	if dd != nil {
		methods = append(methods, dockerMethod(dd, img.dockerRef, filepath.Join(markers, "docker")))
	}
	meta.SetupSecs = time.Since(start).Seconds()

	out := &output{Meta: meta, Tools: o.tools}
	cpu0 := benchkit.MachineCPU()
	lat, err := measureLatency(ctx, w, methods, o.runs, o.settle, progress)
	if err != nil {
		return nil, err
	}
	out.Meta.LatencyCPU = benchkit.MachineCPU().BusySince(cpu0)
	out.Latency = lat
	out.Phases = phases.breakdowns()
	// The scaled stacks keep their first replica until here.
	for _, s := range []string{"eb-warm", "eb-scli"} {
		if err := bd.down(ctx, s); err != nil {
			return nil, err
		}
	}

	// --- a multi-service stack -----------------------------------------------
	if out.Stack, err = measureStack(ctx, w, bd, berthBin, dd, img, tmp, o.services, o.stackRuns, progress); err != nil {
		return nil, err
	}

	// --- memory ---------------------------------------------------------------
	progress("memory: %d containers under berth", o.containers)
	memDir := filepath.Join(markers, "memory")
	if err := os.MkdirAll(memDir, 0o777); err != nil {
		return nil, err
	}
	mb, err := measureBerthMemory(ctx, bd, img.ref, memDir, o.containers)
	if err != nil {
		return nil, err
	}
	out.Memory = append(out.Memory, mb)
	if dd != nil {
		progress("memory: %d containers under docker", o.containers)
		md, err := measureDockerMemory(ctx, dd, img.dockerRef, memDir, o.containers)
		if err != nil {
			return nil, err
		}
		out.Memory = append(out.Memory, md)
	}

	out.Targets = judgeTargets(out)
	out.Notes = notes(out)
	out.Meta.TotalSecs = time.Since(start).Seconds()
	return out, nil
}

// berthSpecFromDaemon starts one container under berth, copies the OCI
// spec berth generated for it into a raw runc bundle, and removes it.
func berthSpecFromDaemon(ctx context.Context, bd *berthDaemon, ref, srcMarkers, bundle, rootfs, markerDir string) error {
	const stack = "eb-spec"
	if err := os.MkdirAll(srcMarkers, 0o777); err != nil {
		return err
	}
	cs, err := bd.up(ctx, model.StackSpec{Name: stack, Services: []model.ServiceSpec{benchService(ref, srcMarkers, 1)}})
	defer bd.down(context.WithoutCancel(ctx), stack) //nolint:errcheck // checked at the end of the run
	if err != nil {
		return fmt.Errorf("berth: first container: %w", err)
	}
	if len(cs) != 1 {
		return fmt.Errorf("berth: up returned %d containers, want 1", len(cs))
	}
	return berthSpecBundle(filepath.Join(bd.root, "containers", cs[0].ID), bundle, rootfs, srcMarkers, markerDir)
}

// stopBerth removes whatever stacks are left (their shims would otherwise
// keep the containers running), stops the daemon and checks that berth left
// no mount behind under its root.
func stopBerth(bd *berthDaemon) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var errs []error
	stacks := map[string]bool{}
	for _, c := range bd.mustContainers(ctx) {
		stacks[c.Stack] = true
	}
	for s := range stacks {
		errs = append(errs, bd.down(ctx, s))
	}
	bd.Stop(15 * time.Second)
	if left := benchkit.MountsUnder(bd.root); len(left) > 0 {
		errs = append(errs, fmt.Errorf("berth left mounts behind: %v", left))
		for _, m := range left {
			_ = syscall.Unmount(m, syscall.MNT_DETACH)
		}
	}
	return errors.Join(errs...)
}

// shortDir returns a directory for dockerd: unix socket paths are limited to
// 108 bytes and containerd puts its sockets a few levels below exec-root, so
// a long TMPDIR (a test's t.TempDir) falls back to /tmp.
func shortDir(parent string) (string, error) {
	if len(parent) < 40 {
		d := filepath.Join(parent, "d")
		return d, os.MkdirAll(d, 0o700)
	}
	return os.MkdirTemp("/tmp", "ebd-")
}
