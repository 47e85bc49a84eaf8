package engine

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Helpers of the acceptance tests: one daemon per test with its own root,
// run directory and socket, a busybox image built by berth, and the
// stack's containers as `berth ps --json` reports them.

// stackEnv is one daemon and the stack a test runs on it.
type stackEnv struct {
	t       *testing.T
	work    string
	root    string
	runDir  string
	sock    string
	project string
	env     []string
	d       *daemon
}

// newStackEnv starts a daemon for the test. When the test ends the stack
// is taken down (with its volumes) and the daemon killed; if the test
// failed, the daemon's log is printed. daemonArgs are more flags of
// berth daemon.
func newStackEnv(t *testing.T, project string, daemonArgs ...string) *stackEnv {
	t.Helper()
	need(t)
	work := t.TempDir()
	s := &stackEnv{
		t: t, work: work, project: project,
		root: filepath.Join(work, "root"), runDir: filepath.Join(work, "run"), sock: filepath.Join(work, "berth.sock"),
	}
	s.env = []string{"BERTH_SOCKET=" + s.sock, "BERTH_CACHE=" + filepath.Join(work, "cache")}
	s.d = startDaemon(t, s.root, s.runDir, s.sock, daemonArgs...)
	t.Cleanup(func() {
		s.d.cmd.Process.Signal(syscall.SIGKILL)
		<-s.d.done
		if t.Failed() {
			raw, _ := os.ReadFile(filepath.Join(work, "daemon.log"))
			t.Logf("daemon log:\n%s", raw)
		}
	})
	t.Cleanup(func() {
		if out, err := s.try("down", "-v", "-p", project); err != nil {
			t.Errorf("cleanup: berth down: %v\n%s", err, out)
		}
	})
	return s
}

// with is s for a subtest (whose failures must not stop the parent).
func (s *stackEnv) with(t *testing.T) *stackEnv {
	c := *s
	c.t = t
	return &c
}

// berth runs berth against the test's daemon and fails the test unless it
// succeeds; it returns the combined output.
func (s *stackEnv) berth(args ...string) string {
	s.t.Helper()
	return run(s.t, s.env, args...)
}

// berthFail runs berth expecting it to fail and returns its output.
func (s *stackEnv) berthFail(args ...string) string {
	s.t.Helper()
	out, err := s.try(args...)
	if err == nil {
		s.t.Fatalf("berth %s succeeded, want an error:\n%s", strings.Join(args, " "), out)
	}
	return out
}

func (s *stackEnv) try(args ...string) (string, error) {
	cmd := exec.Command(berthBin, args...)
	cmd.Env = append(os.Environ(), s.env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

// write writes a file below the test's work directory.
func (s *stackEnv) write(rel, content string) string {
	s.t.Helper()
	p := filepath.Join(s.work, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		s.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		s.t.Fatal(err)
	}
	return p
}

// up writes compose.yaml and runs `berth up` on it.
func (s *stackEnv) up(compose string) string {
	s.t.Helper()
	file := s.write("compose.yaml", compose)
	return s.berth("up", "-f", file, "-p", s.project)
}

// psEntry is the part of `berth ps --json` the tests read.
type psEntry struct {
	ID         string    `json:"id"`
	Name       string    `json:"name"`
	Service    string    `json:"service"`
	IP         string    `json:"ip"`
	State      string    `json:"state"`
	Health     string    `json:"health"`
	Restarts   int       `json:"restarts"`
	ExitCode   int       `json:"exitCode"`
	OOMKilled  bool      `json:"oomKilled"`
	StartedAt  time.Time `json:"startedAt"`
	FinishedAt time.Time `json:"finishedAt"`
}

// ps lists the stack's containers.
func (s *stackEnv) ps() []psEntry {
	s.t.Helper()
	out := s.berth("ps", "-p", s.project, "--json")
	var cs []psEntry
	if err := json.Unmarshal([]byte(out), &cs); err != nil {
		s.t.Fatalf("berth ps --json: %v\n%s", err, out)
	}
	return cs
}

// container is the stack's container called name, if there is one.
func (s *stackEnv) container(name string) (psEntry, bool) {
	s.t.Helper()
	for _, c := range s.ps() {
		if c.Name == name {
			return c, true
		}
	}
	return psEntry{}, false
}

// logs is `berth logs` of one service.
func (s *stackEnv) logs(service string) string {
	s.t.Helper()
	return s.berth("logs", "-p", s.project, service)
}

// idle is a shell loop for a container that only needs to stay up: it
// leaves promptly on SIGTERM (a shell as PID 1 ignores signals it has no
// trap for, so `down` would wait out the grace period).
const idle = `trap "exit 0" TERM; while true; do sleep 1 & wait; done`

// buildBusybox builds, with berth build, an image "bb" of busybox-static
// with every applet linked, into an OCI layout, and returns the layout.
func buildBusybox(t *testing.T, env []string, dir string) string {
	t.Helper()
	rootfs := filepath.Join(dir, "bbctx", "rootfs")
	for _, d := range []string{"bin", "tmp", "www", "data"} {
		if err := os.MkdirAll(filepath.Join(rootfs, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	os.Chmod(filepath.Join(rootfs, "tmp"), 0o1777)
	bb, err := os.ReadFile("/bin/busybox")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(rootfs, "bin", "busybox"), bb, 0o755); err != nil {
		t.Fatal(err)
	}
	list, err := exec.Command("/bin/busybox", "--list").Output()
	if err != nil {
		t.Fatalf("busybox --list: %v", err)
	}
	for _, applet := range strings.Fields(string(list)) {
		if applet != "busybox" {
			os.Symlink("busybox", filepath.Join(rootfs, "bin", applet))
		}
	}
	file := filepath.Join(dir, "bbctx", "berth.yaml")
	yaml := `images:
  bb:
    from: scratch
    layers:
      - name: rootfs
        tar: {src: rootfs}
    config:
      env: {PATH: /bin}
      entrypoint: [/bin/sh]
`
	if err := os.WriteFile(file, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	layout := filepath.Join(dir, "bb-layout")
	run(t, env, "build", "-f", file, "bb", "--oci-layout", layout)
	return layout
}

// noStackLeft fails the test if anything of the stack exists: containers
// in ps, container directories, network records, netns files, mounts under
// the daemon's directories, CNI iptables rules.
func (s *stackEnv) noStackLeft(what string) {
	s.t.Helper()
	if cs := s.ps(); len(cs) != 0 {
		s.t.Fatalf("%s: containers left: %+v", what, cs)
	}
	if dirs, _ := os.ReadDir(filepath.Join(s.root, "containers")); len(dirs) != 0 {
		s.t.Fatalf("%s: container directories left: %v", what, dirs)
	}
	if nets, _ := filepath.Glob(filepath.Join(s.root, "networks", "networks", "*")); len(nets) != 0 {
		s.t.Fatalf("%s: network records left: %v", what, nets)
	}
	if ns, _ := os.ReadDir(filepath.Join(s.runDir, "netns")); len(ns) != 0 {
		s.t.Fatalf("%s: network namespaces left: %v", what, ns)
	}
	mounts, _ := os.ReadFile("/proc/self/mountinfo")
	if strings.Contains(string(mounts), s.root) || strings.Contains(string(mounts), s.runDir) {
		s.t.Fatalf("%s: mounts left under %s or %s", what, s.root, s.runDir)
	}
	rules, _ := exec.Command("iptables-save").Output()
	if strings.Contains(string(rules), "berth-"+s.project) {
		s.t.Fatalf("%s: iptables rules of berth-%s left", what, s.project)
	}
}
