//go:build linux

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/berth-dev/berth/bench/internal/benchkit"
)

// The one image every engine runs: busybox-static alone, built by
// `berth build` from a rootfs directory (as test/engine does). berth reads
// it from an OCI layout, docker `docker load`s the same image as a
// docker-archive, runc gets the same rootfs directory as its bundle's root.

const imageName = "bb"

// busyboxApplets are the commands the containers use.
var busyboxApplets = []string{"sh", "touch", "sleep", "cat", "echo"}

// markerCommand is every container's command: create the marker file in the
// bind-mounted /m, then sleep as PID 1. The marker's appearance is "the
// process runs".
func markerCommand(name string) []string {
	return []string{"/bin/sh", "-c", "touch /m/" + name + "; exec sleep 3600"}
}

// image is the built image in the forms each engine loads.
type image struct {
	rootfs    string // the rootfs directory berth build packed
	layout    string // OCI layout holding bb:latest
	ref       string // berth's reference to it
	dockerRef string // name docker loaded it as
}

func buildImage(ctx context.Context, berthBin, dir, busybox string) (*image, error) {
	ctxDir := filepath.Join(dir, "ctx")
	rootfs := filepath.Join(ctxDir, "rootfs")
	for _, d := range []string{"bin", "m", "tmp", "etc"} {
		if err := os.MkdirAll(filepath.Join(rootfs, d), 0o755); err != nil {
			return nil, err
		}
	}
	if err := benchkit.CopyFile(busybox, filepath.Join(rootfs, "bin", "busybox"), 0o755); err != nil {
		return nil, fmt.Errorf("busybox-static (apt-get install busybox-static): %w", err)
	}
	for _, a := range busyboxApplets {
		if err := os.Symlink("busybox", filepath.Join(rootfs, "bin", a)); err != nil {
			return nil, err
		}
	}
	yaml := fmt.Sprintf(`images:
  %s:
    from: scratch
    layers:
      - name: rootfs
        tar: {src: rootfs}
    config:
      cmd: [/bin/sh]
`, imageName)
	file := filepath.Join(ctxDir, "berth.yaml")
	if err := os.WriteFile(file, []byte(yaml), 0o644); err != nil {
		return nil, err
	}
	env := []string{"BERTH_CACHE=" + filepath.Join(dir, "cache")}
	img := &image{rootfs: rootfs, layout: filepath.Join(dir, "layout")}
	if err := runCmd(ctx, ctxDir, env, berthBin, "build", "-f", file, imageName, "--oci-layout", img.layout); err != nil {
		return nil, err
	}
	img.ref = "oci-layout:" + img.layout + ":" + imageName
	return img, nil
}

// loadIntoDocker writes the image as a docker-archive and `docker load`s it.
func (img *image) loadIntoDocker(ctx context.Context, berthBin string, d *dockerDaemon, dir string) error {
	archive := filepath.Join(dir, "bb.tar")
	ctxDir := filepath.Join(filepath.Dir(img.rootfs))
	env := []string{"BERTH_CACHE=" + filepath.Join(dir, "cache")}
	if err := runCmd(ctx, ctxDir, env, berthBin, "build", "-f", filepath.Join(ctxDir, "berth.yaml"), imageName, "--docker-archive", archive); err != nil {
		return err
	}
	out, err := d.Run(ctx, "load", "-i", archive)
	if err != nil {
		return err
	}
	for line := range strings.SplitSeq(out, "\n") {
		if ref, ok := strings.CutPrefix(strings.TrimSpace(line), "Loaded image: "); ok {
			img.dockerRef = ref
		}
	}
	if img.dockerRef == "" {
		return fmt.Errorf("docker load: no \"Loaded image:\" line in %q", out)
	}
	return os.Remove(archive)
}

// runcBundle is a bundle for raw runc: `runc spec`'s default config
// (terminal off, the marker command, /m bind-mounted) over the image's
// rootfs directory.
func runcBundle(ctx context.Context, runcBin, dir, rootfs, markerDir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, runcBin, "spec", "--bundle", dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("runc spec: %v\n%s", err, out)
	}
	return editSpec(filepath.Join(dir, "config.json"), func(s map[string]any) error {
		proc, _ := s["process"].(map[string]any)
		root, _ := s["root"].(map[string]any)
		if proc == nil || root == nil {
			return fmt.Errorf("runc spec: no process or root in config.json")
		}
		proc["terminal"] = false
		proc["args"] = markerCommand("ready")
		root["path"] = rootfs
		root["readonly"] = false
		mounts, _ := s["mounts"].([]any)
		s["mounts"] = append(mounts, map[string]any{
			"destination": "/m", "type": "bind", "source": markerDir, "options": []string{"rbind", "rw"},
		})
		return nil
	})
}

// berthSpecBundle makes a bundle for raw runc from the config.json berth
// generated for one of its containers (hardened: Docker's capabilities,
// seccomp profile, masked paths, a cgroup): its host files are copied into
// the bundle, its network namespace becomes a fresh one (raw runc sets up
// no network) and its marker mount points at markerDir. It separates what
// berth's spec costs inside runc from what berth's engine adds around it.
func berthSpecBundle(containerDir, dir, rootfs, berthMarkerDir, markerDir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	raw, err := os.ReadFile(filepath.Join(containerDir, "config.json"))
	if err != nil {
		return err
	}
	cfg := filepath.Join(dir, "config.json")
	if err := os.WriteFile(cfg, raw, 0o644); err != nil {
		return err
	}
	return editSpec(cfg, func(s map[string]any) error {
		root, _ := s["root"].(map[string]any)
		if root == nil {
			return fmt.Errorf("berth's config.json has no root")
		}
		root["path"] = rootfs
		mounts, _ := s["mounts"].([]any)
		for _, m := range mounts {
			mm, _ := m.(map[string]any)
			src, _ := mm["source"].(string)
			switch {
			case src == berthMarkerDir:
				mm["source"] = markerDir
			case strings.HasPrefix(src, containerDir+"/"):
				rel := strings.TrimPrefix(src, containerDir+"/")
				dst := filepath.Join(dir, "files", rel)
				if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
					return err
				}
				if err := benchkit.CopyFile(src, dst, 0o644); err != nil {
					return fmt.Errorf("copy berth's %s: %w", rel, err)
				}
				mm["source"] = dst
			}
		}
		linux, _ := s["linux"].(map[string]any)
		if linux == nil {
			return nil
		}
		nss, _ := linux["namespaces"].([]any)
		for _, ns := range nss {
			if n, _ := ns.(map[string]any); n != nil && n["type"] == "network" {
				delete(n, "path")
			}
		}
		if _, ok := linux["cgroupsPath"]; ok {
			linux["cgroupsPath"] = "/enginebench-runc-berthspec"
		}
		return nil
	})
}

func editSpec(path string, edit func(map[string]any) error) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var s map[string]any
	if err := json.Unmarshal(raw, &s); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := edit(s); err != nil {
		return err
	}
	out, err := json.MarshalIndent(s, "", "\t")
	if err != nil {
		return err
	}
	return os.WriteFile(path, out, 0o644)
}
