package e2e

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

const (
	dockerdStartTimeout = 60 * time.Second
	dockerdStopTimeout  = 20 * time.Second
)

// dockerDaemon is a private dockerd: its own data, exec root and socket under
// a temp dir, so the test neither needs nor touches a system docker.
type dockerDaemon struct {
	dir  string
	sock string
	env  []string // DOCKER_HOST and an isolated DOCKER_CONFIG for the CLI
	cmd  *exec.Cmd
	done chan error
	log  string
}

// startDockerd starts dockerd with networking features off (no iptables, no
// bridge: containers run with --network none) and the vfs storage driver,
// which needs no overlay support and leaves no mounts behind.
func startDockerd(t *testing.T) *dockerDaemon {
	t.Helper()
	requireRoot(t)
	requireTools(t, "dockerd", "docker", "containerd", "runc")
	// Unix socket paths are limited to 108 bytes; t.TempDir names can be
	// long, and containerd puts its socket a few levels below exec-root.
	dir, err := os.MkdirTemp("", "berth-dockerd-")
	if err != nil {
		t.Fatal(err)
	}
	d := &dockerDaemon{dir: dir, sock: filepath.Join(dir, "docker.sock"), log: filepath.Join(dir, "dockerd.log")}
	cfg := filepath.Join(dir, "daemon.json")
	// An empty config file keeps the host's /etc/docker/daemon.json out.
	if err := os.WriteFile(cfg, []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	cliConfig := filepath.Join(dir, "cli")
	if err := os.MkdirAll(cliConfig, 0o700); err != nil {
		t.Fatal(err)
	}
	d.env = []string{"DOCKER_HOST=unix://" + d.sock, "DOCKER_CONFIG=" + cliConfig}

	logf, err := os.Create(d.log)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	d.cmd = exec.Command("dockerd",
		"--config-file", cfg,
		"--data-root", filepath.Join(dir, "data"),
		"--exec-root", filepath.Join(dir, "exec"),
		"--pidfile", filepath.Join(dir, "dockerd.pid"),
		"--host", "unix://"+d.sock,
		"--iptables=false",
		"--ip-forward=false",
		"--ip-masq=false",
		"--bridge=none",
		"--storage-driver=vfs",
		"--log-level=warn",
	)
	d.cmd.Stdout = logf
	d.cmd.Stderr = logf
	// If the test binary dies, dockerd goes too (and stops its containerd).
	d.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	if err := d.cmd.Start(); err != nil {
		os.RemoveAll(dir)
		t.Fatalf("start dockerd: %v", err)
	}
	d.done = make(chan error, 1)
	go func() { d.done <- d.cmd.Wait() }()
	t.Cleanup(func() { d.stop(t) })

	if err := d.waitReady(); err != nil {
		t.Fatalf("dockerd: %v\ndockerd log:\n%s", err, tailFile(d.log, 6000))
	}
	return d
}

// waitReady polls GET /_ping on the daemon socket.
func (d *dockerDaemon) waitReady() error {
	client := &http.Client{
		Timeout: 2 * time.Second,
		Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var dialer net.Dialer
			return dialer.DialContext(ctx, "unix", d.sock)
		}},
	}
	deadline := time.NewTimer(dockerdStartTimeout)
	defer deadline.Stop()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	var lastErr error
	for {
		resp, err := client.Get("http://docker/_ping")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("GET /_ping: %s", resp.Status)
		}
		lastErr = err
		select {
		case err := <-d.done:
			d.done <- err
			return fmt.Errorf("exited before answering /_ping: %v", err)
		case <-deadline.C:
			return fmt.Errorf("no answer on %s after %v: %v", d.sock, dockerdStartTimeout, lastErr)
		case <-tick.C:
		}
	}
}

// stop terminates dockerd (it stops its own containerd), then unmounts
// anything left under the daemon's directory before removing it.
func (d *dockerDaemon) stop(t *testing.T) {
	if t.Failed() {
		t.Logf("dockerd log:\n%s", tailFile(d.log, 6000))
	}
	if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		t.Errorf("SIGTERM dockerd: %v", err)
	}
	select {
	case <-d.done:
	case <-time.After(dockerdStopTimeout):
		d.cmd.Process.Kill()
		<-d.done
		t.Errorf("dockerd did not exit %v after SIGTERM; killed", dockerdStopTimeout)
	}
	for _, m := range mountsUnder(d.dir) {
		unmountDetached(t, m)
	}
	if err := os.RemoveAll(d.dir); err != nil {
		t.Errorf("remove dockerd dir: %v", err)
	}
}

// mountsUnder lists mount points below dir, deepest first.
func mountsUnder(dir string) []string {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) > 4 && strings.HasPrefix(fields[4], dir+"/") {
			out = append(out, fields[4])
		}
	}
	sort.Sort(sort.Reverse(sort.StringSlice(out)))
	return out
}

// unmountDetached lazily unmounts a leftover mount so its directory can go.
func unmountDetached(t *testing.T, path string) {
	if err := syscall.Unmount(path, syscall.MNT_DETACH); err != nil {
		t.Errorf("unmount %s: %v", path, err)
	}
}

func tailFile(path string, max int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(%v)", err)
	}
	if len(b) > max {
		b = b[len(b)-max:]
	}
	return string(b)
}

func (d *dockerDaemon) run(t *testing.T, args ...string) string {
	t.Helper()
	return mustRunEnv(t, d.env, "docker", args...)
}

var dockerPushDigest = regexp.MustCompile(`digest: (sha256:[0-9a-f]{64}) size: \d+`)

// TestDocker pulls the test image with the docker engine, runs it, and pushes
// it back to a new repository.
func TestDocker(t *testing.T) {
	t.Parallel()
	requireTools(t, "crane")
	img := fixture(t)
	d := startDockerd(t)
	reg := startRegistry(t)

	ref := reg.Ref("docker/busybox:v1")
	pushFixture(t, ref)

	t.Run("pull", func(t *testing.T) {
		out := d.run(t, "pull", ref)
		if !strings.Contains(out, "Digest: "+img.ManifestDigest.String()) {
			t.Fatalf("docker pull output does not name digest %s:\n%s", img.ManifestDigest, out)
		}
		// The image ID is the config digest.
		if id := strings.TrimSpace(d.run(t, "image", "inspect", "--format", "{{.Id}}", ref)); id != img.ConfigDigest.String() {
			t.Fatalf("docker image ID %s, want config digest %s", id, img.ConfigDigest)
		}
		repoDigests := d.run(t, "image", "inspect", "--format", "{{json .RepoDigests}}", ref)
		if !strings.Contains(repoDigests, refWithDigest(ref, img.ManifestDigest)) {
			t.Fatalf("docker RepoDigests %s, want %s", repoDigests, refWithDigest(ref, img.ManifestDigest))
		}
	})

	t.Run("run", func(t *testing.T) {
		if out := d.run(t, "run", "--rm", "--network", "none", ref, "echo", "hello"); out != "hello\n" {
			t.Fatalf("docker run echo hello printed %q", out)
		}
		if out := d.run(t, "run", "--rm", "--network", "none", ref, "cat", "/"+markerPath); out != markerContent {
			t.Fatalf("/%s in the container is %q, want %q", markerPath, out, markerContent)
		}
	})

	t.Run("tag-push", func(t *testing.T) {
		pushed := reg.Ref("docker/pushed:v1")
		d.run(t, "tag", ref, pushed)
		out := d.run(t, "push", pushed)
		m := dockerPushDigest.FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("docker push printed no digest:\n%s", out)
		}
		pushedDigest := digest.Digest(m[1])
		raw := mustRun(t, "crane", "manifest", pushed)
		if got := digest.FromString(raw); got != pushedDigest {
			t.Fatalf("registry manifest for %s hashes to %s, docker push reported %s", pushed, got, pushedDigest)
		}
		var man ocispec.Manifest
		mustJSON(t, raw, &man)
		// docker converts the OCI manifest to Docker v2 schema 2 on push,
		// keeping the config bytes (same image ID) and the layer content.
		if man.MediaType != dockerManifestV2 {
			t.Fatalf("docker pushed media type %q, want %q", man.MediaType, dockerManifestV2)
		}
		if man.Config.Digest != img.ConfigDigest {
			t.Fatalf("pushed config %s, want %s", man.Config.Digest, img.ConfigDigest)
		}
		if len(man.Layers) != 1 {
			t.Fatalf("pushed layers %+v, want one", man.Layers)
		}
		blob := mustRun(t, "crane", "blob", repoOf(pushed)+"@"+man.Layers[0].Digest.String())
		if got := layerDiffID(t, []byte(blob)); got != img.DiffID {
			t.Fatalf("pushed layer %s uncompresses to %s, want %s", man.Layers[0].Digest, got, img.DiffID)
		}
		if tags := listTags(t, reg, "docker/pushed"); !slices.Equal(tags, []string{"v1"}) {
			t.Fatalf("tags of docker/pushed = %v, want [v1]", tags)
		}
	})

	// dockerd's own containerd, driven with ctr: containerd's resolver and
	// its pusher, which uploads each blob with POST then one PUT ?digest=
	// carrying the body (no PATCH), an upload style no other client uses.
	t.Run("containerd", func(t *testing.T) {
		requireTools(t, "ctr")
		sock := filepath.Join(d.dir, "exec", "containerd", "containerd.sock")
		if _, err := os.Stat(sock); err != nil {
			t.Fatalf("dockerd's containerd socket: %v", err)
		}
		ctr := func(t *testing.T, args ...string) string {
			t.Helper()
			return mustRun(t, "ctr", append([]string{"--address", sock, "--namespace", "berth-e2e"}, args...)...)
		}
		ctr(t, "images", "pull", "--plain-http", ref)
		if got := ctrImageDigest(t, ctr(t, "images", "ls"), ref); got != img.ManifestDigest {
			t.Fatalf("ctr images ls: %s has digest %s, want %s", ref, got, img.ManifestDigest)
		}

		// Push to a second registry. containerd still asks to mount from
		// its pull source (it matches the source by host name, not port);
		// the mount must fail with 202 and an upload Location, and
		// containerd then uploads the layer with one PUT ?digest=.
		reg2 := startRegistry(t)
		rec := newRecorder(t, reg2)
		pushed := rec.Ref("containerd/pushed:v1")
		ctr(t, "images", "tag", ref, pushed)
		ctr(t, "images", "push", "--plain-http", pushed)
		r := getManifest(t, reg2, "containerd/pushed", "v1")
		if r.Status != http.StatusOK {
			t.Fatalf("GET containerd/pushed:v1: %d %s", r.Status, r.Body)
		}
		expectBytes(t, "manifest pushed by containerd", r.Body, img.Manifest)
		for _, q := range rec.Requests(func(q recordedRequest) bool {
			return q.Method == http.MethodPost && q.Query.Get("mount") != ""
		}) {
			if q.Status != http.StatusAccepted || q.Header.Get("Location") == "" {
				t.Fatalf("mount of a blob the registry lacks: %s with Location %q, want 202 and a Location; requests:\n%s",
					q, q.Header.Get("Location"), rec.Dump())
			}
		}
		puts := rec.Requests(func(q recordedRequest) bool {
			return q.Method == http.MethodPut && strings.HasPrefix(q.Path, "/v2/containerd/pushed/blobs/uploads/") &&
				q.Query.Get("digest") == img.LayerDigest.String()
		})
		if len(puts) != 1 || puts[0].Status != http.StatusCreated {
			t.Fatalf("want the layer uploaded by one PUT ?digest= answered 201; requests:\n%s", rec.Dump())
		}
		t.Logf("containerd push requests:\n%s", rec.Dump())
		if patches := rec.Requests(func(q recordedRequest) bool { return q.Method == http.MethodPatch }); len(patches) != 0 {
			t.Fatalf("containerd sent PATCH requests; requests:\n%s", rec.Dump())
		}
		blob := httpDo(t, http.MethodGet, reg2.URL("/v2/containerd/pushed/blobs/"+img.LayerDigest.String()), nil)
		if blob.Status != http.StatusOK || digest.FromBytes(blob.Body) != img.LayerDigest {
			t.Fatalf("GET pushed layer: status %d, %d bytes hashing to %s; want 200 and %s",
				blob.Status, len(blob.Body), digest.FromBytes(blob.Body), img.LayerDigest)
		}
	})
}

// ctrImageDigest finds ref's digest in `ctr images ls` output
// (REF TYPE DIGEST SIZE PLATFORMS LABELS).
func ctrImageDigest(t *testing.T, out, ref string) digest.Digest {
	t.Helper()
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) >= 3 && f[0] == ref {
			return digest.Digest(f[2])
		}
	}
	t.Fatalf("ctr images ls does not list %s:\n%s", ref, out)
	return ""
}
