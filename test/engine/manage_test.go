package engine

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// manageRunFail runs berth expecting it to fail and returns its output.
func manageRunFail(t *testing.T, env []string, args ...string) string {
	t.Helper()
	cmd := exec.Command(berthBin, args...)
	cmd.Env = append(os.Environ(), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err == nil {
		t.Fatalf("berth %s succeeded, want a failure:\n%s", strings.Join(args, " "), out.String())
	}
	return out.String()
}

// manageRunJSON runs berth and decodes its JSON output into v.
func manageRunJSON(t *testing.T, env []string, v any, args ...string) {
	t.Helper()
	out := run(t, env, args...)
	if err := json.Unmarshal([]byte(out), v); err != nil {
		t.Fatalf("berth %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

type managedPs struct {
	Name    string `json:"name"`
	Service string `json:"service"`
	Image   string `json:"image"`
	State   string `json:"state"`
}

func manageServicePs(t *testing.T, env []string, stack, service string) []managedPs {
	var cs, out []managedPs
	manageRunJSON(t, env, &cs, "ps", "-p", stack, "--json")
	for _, c := range cs {
		if c.Service == service {
			out = append(out, c)
		}
	}
	return out
}

func manageSnapshotDirs(t *testing.T, root string) []string {
	entries, _ := os.ReadDir(filepath.Join(root, "snapshots"))
	var out []string
	for _, e := range entries {
		if e.IsDir() && len(e.Name()) == 64 {
			out = append(out, e.Name())
		}
	}
	return out
}

func TestManagePullImagesScaleVolumesRmiPrune(t *testing.T) {
	need(t)
	work := t.TempDir()
	root, runDir, sock := filepath.Join(work, "root"), filepath.Join(work, "run"), filepath.Join(work, "berth.sock")
	env := []string{"BERTH_SOCKET=" + sock, "BERTH_CACHE=" + filepath.Join(work, "cache")}

	// Two versions of one image: busybox plus a /version layer.
	ctx := filepath.Join(work, "ctx")
	rootfs := filepath.Join(ctx, "rootfs")
	os.MkdirAll(filepath.Join(rootfs, "bin"), 0o755)
	bb, _ := os.ReadFile("/bin/busybox")
	os.WriteFile(filepath.Join(rootfs, "bin", "busybox"), bb, 0o755)
	for _, a := range []string{"sh", "cat", "sleep", "echo"} {
		os.Symlink("busybox", filepath.Join(rootfs, "bin", a))
	}
	for _, v := range []string{"v1", "v2"} {
		os.MkdirAll(filepath.Join(ctx, v), 0o755)
		os.WriteFile(filepath.Join(ctx, v, "version"), []byte(v+"\n"), 0o644)
	}
	layout := filepath.Join(work, "layout")
	ref1, ref2 := "oci-layout:"+layout+":app1", "oci-layout:"+layout+":app2"
	images := `images:
  app1:
    from: scratch
    layers:
      - name: rootfs
        tar: {src: rootfs}
      - name: version
        tar: {src: v1}
  app2:
    from: scratch
    layers:
      - name: rootfs
        tar: {src: rootfs}
      - name: version
        tar: {src: v2}
`
	// web records every start's image version in its volume and stops
	// promptly on SIGTERM; job is a one-shot that no policy restarts.
	stackFile := func(ref string) string {
		return images + fmt.Sprintf(`services:
  web:
    image: %[1]s
    entrypoint: [/bin/sh, -c, 'cat /version >> /data/seen; trap "exit 0" TERM; while :; do sleep 1; done']
    volumes: ["data:/data"]
  job:
    image: %[1]s
    entrypoint: [/bin/sh, -c, "echo done"]
    restart: "no"
volumes:
  data: {}
`, ref)
	}
	file := filepath.Join(ctx, "berth.yaml")
	os.WriteFile(file, []byte(stackFile(ref1)), 0o644)
	run(t, env, "build", "-f", file, "app1", "--oci-layout", layout)
	run(t, env, "build", "-f", file, "app2", "--oci-layout", layout)

	d := startDaemon(t, root, runDir, sock)
	t.Cleanup(func() {
		d.cmd.Process.Signal(syscall.SIGKILL)
		<-d.done
	})

	// pull from an OCI layout: --json prints the result alone on stdout,
	// the daemon streams each layer's progress, JSON on stderr.
	pullJSON := func() (result map[string]any, layers map[string]string) {
		t.Helper()
		cmd := exec.Command(berthBin, "pull", "--json", "--progress", "json", ref1)
		cmd.Env = append(os.Environ(), env...)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil || json.Unmarshal(stdout.Bytes(), &result) != nil {
			t.Fatalf("pull --json: %v\nstdout %s\nstderr %s", err, stdout.String(), stderr.String())
		}
		layers = map[string]string{}
		for _, l := range strings.Split(strings.TrimSpace(stderr.String()), "\n") {
			var e struct{ Action, Digest, Status string }
			if err := json.Unmarshal([]byte(l), &e); err != nil || e.Action != "pull" {
				t.Fatalf("pull --progress json: stderr line %q: %v", l, err)
			}
			if e.Status != "transferring" {
				layers[e.Digest] = e.Status
			}
		}
		return result, layers
	}
	res, layers := pullJSON()
	if res["status"] != "pulled" || !strings.HasPrefix(fmt.Sprint(res["digest"]), "sha256:") || len(layers) == 0 {
		t.Fatalf("pull --json: %v, layers %v", res, layers)
	}
	for d, st := range layers {
		if st != "done" {
			t.Errorf("first pull, layer %s: %s, want done", d, st)
		}
	}
	if _, again := pullJSON(); len(again) != len(layers) {
		t.Errorf("second pull: layers %v, want %d", again, len(layers))
	} else {
		for d, st := range again {
			if st != "exists" {
				t.Errorf("second pull, layer %s: %s, want exists", d, st)
			}
		}
	}
	// images lists it.
	if out := run(t, env, "pull", ref1); !strings.Contains(out, "Pulled "+ref1) || !strings.Contains(out, "sha256:") {
		t.Fatalf("pull output:\n%s", out)
	}
	var imgs []struct {
		Names      []string `json:"names"`
		Digest     string   `json:"digest"`
		Size       int64    `json:"size"`
		Containers []string `json:"containers"`
	}
	manageRunJSON(t, env, &imgs, "images", "--json")
	if len(imgs) != 1 || len(imgs[0].Names) != 1 || imgs[0].Names[0] != ref1 || imgs[0].Size < int64(len(bb))/4 {
		t.Fatalf("images after pull: %+v", imgs)
	}
	if out := run(t, env, "images"); !strings.Contains(out, ref1) || !strings.Contains(out, imgs[0].Digest[:19]) {
		t.Fatalf("images table:\n%s", out)
	}
	if out := manageRunFail(t, env, "pull", "oci-layout:"+filepath.Join(work, "nothing")); !strings.Contains(out, "nothing") {
		t.Fatalf("pull of a missing layout:\n%s", out)
	}

	run(t, env, "up", "-f", file, "-p", "demo")
	var vols []struct {
		Name       string   `json:"name"`
		Path       string   `json:"path"`
		Containers []string `json:"containers"`
	}
	manageRunJSON(t, env, &vols, "volume", "ls", "--json")
	if len(vols) != 1 || strings.Join(vols[0].Containers, ",") != "demo-web-1" {
		t.Fatalf("volume ls: %+v", vols)
	}
	seen := vols[0].Path + "/seen"
	seenLines := func(want string) {
		t.Helper()
		eventually(t, "the volume to record "+want, 20*time.Second, func() (bool, string) {
			raw, _ := os.ReadFile(seen)
			return strings.ReplaceAll(strings.TrimSpace(string(raw)), "\n", ",") == want, string(raw)
		})
	}
	seenLines("v1")

	// scale web=3, then web=1.
	run(t, env, "scale", "-p", "demo", "web=3")
	if ws := manageServicePs(t, env, "demo", "web"); len(ws) != 3 {
		t.Fatalf("after scale web=3: %+v", ws)
	}
	seenLines("v1,v1,v1")
	if out := run(t, env, "volume", "ls"); !strings.Contains(out, "demo-web-1,demo-web-2,demo-web-3") {
		t.Fatalf("volume ls with 3 replicas:\n%s", out)
	}
	run(t, env, "scale", "-p", "demo", "web=1")
	if ws := manageServicePs(t, env, "demo", "web"); len(ws) != 1 || ws[0].Name != "demo-web-1" {
		t.Fatalf("after scale web=1: %+v", ws)
	}
	if out := manageRunFail(t, env, "scale", "-p", "demo", "api=2"); !strings.Contains(out, `no service "api"`) {
		t.Fatalf("scale of an unknown service:\n%s", out)
	}

	// up with a new image: the container is replaced, its volume's data stays.
	os.WriteFile(file, []byte(stackFile(ref2)), 0o644)
	run(t, env, "up", "-f", file, "-p", "demo")
	seenLines("v1,v1,v1,v2")
	ws := manageServicePs(t, env, "demo", "web")
	if len(ws) != 1 || ws[0].Image == imgs[0].Digest {
		t.Fatalf("after up with app2: %+v", ws)
	}
	// The image in use cannot be removed; the message names its container.
	if out := manageRunFail(t, env, "rmi", ref2); !strings.Contains(out, "in use by container(s) demo-job-1, demo-web-1") {
		t.Fatalf("rmi of an image in use:\n%s", out)
	}
	if out := manageRunFail(t, env, "volume", "rm", vols[0].Name); !strings.Contains(out, "in use by container(s) demo-web-1") {
		t.Fatalf("volume rm of a volume in use:\n%s", out)
	}

	// prune: the finished job and app1 (no container runs it any more) go;
	// web and app2 stay.
	eventually(t, "job to finish", 20*time.Second, func() (bool, string) {
		js := manageServicePs(t, env, "demo", "job")
		return len(js) == 1 && js[0].State == "exited", fmt.Sprint(js)
	})
	snapsBefore := manageSnapshotDirs(t, root)
	out := run(t, env, "prune")
	if !strings.Contains(out, "Removed container demo-job-1") || !strings.Contains(out, "Removed image "+ref1) ||
		strings.Contains(out, "demo-web") || strings.Contains(out, "Removed image "+ref2) {
		t.Fatalf("prune:\n%s", out)
	}
	if snaps := manageSnapshotDirs(t, root); len(snaps) != len(snapsBefore)-1 {
		t.Fatalf("prune left %d of %d snapshots (app1's version layer should go):\n%s", len(snaps), len(snapsBefore), out)
	}
	if ws := manageServicePs(t, env, "demo", "web"); len(ws) != 1 || ws[0].State != "running" {
		t.Fatalf("web after prune: %+v", ws)
	}

	// down -v removes the volume; then app2 can go.
	run(t, env, "down", "-v", "-p", "demo")
	if _, err := os.Stat(filepath.Dir(vols[0].Path)); !os.IsNotExist(err) {
		t.Fatalf("volume after down -v: %v", err)
	}
	if out := run(t, env, "volume", "ls", "--json"); strings.TrimSpace(out) != "[]" {
		t.Fatalf("volume ls after down -v: %s", out)
	}
	if out := run(t, env, "rmi", ref2); !strings.Contains(out, "Removed "+ref2) {
		t.Fatalf("rmi after down:\n%s", out)
	}
	if out := run(t, env, "images", "--json"); strings.TrimSpace(out) != "[]" {
		t.Fatalf("images at the end: %s", out)
	}
	// Nothing uses any snapshot now.
	run(t, env, "prune", "--volumes")
	if snaps := manageSnapshotDirs(t, root); len(snaps) != 0 {
		t.Fatalf("snapshots left after the last prune: %v", snaps)
	}
}
