package runtime

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The test binary doubles as the supervisor ("berth shim") and as a
// short-lived launcher standing in for a daemon that dies after starting
// a container.
func TestMain(m *testing.M) {
	switch os.Getenv("BERTH_TEST_ROLE") {
	case "shim":
		os.Exit(ShimMain(os.Args[1:]))
	case "launcher":
		os.Exit(launcherMain(os.Args[1:]))
	}
	code := m.Run()
	// The tests' containers are gone by now (they assert it); drop the
	// empty parent cgroups they created too. Best effort: rmdir of a
	// non-empty cgroup fails harmlessly.
	parents, _ := filepath.Glob("/sys/fs/cgroup/*/berth-test")
	for _, p := range parents {
		os.Remove(p)
	}
	os.Remove("/sys/fs/cgroup/berth-test")
	os.Exit(code)
}

// launcherMain starts a shim for bundle/id, prints the init pid and dies
// by SIGKILL, like a crashed daemon.
func launcherMain(args []string) int {
	bundle, id, root := args[0], args[1], args[2]
	pid, err := StartShim(context.Background(), testShimOptions(bundle, id, root))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println(pid)
	os.Stdout.Sync()
	syscall.Kill(os.Getpid(), syscall.SIGKILL)
	return 0
}

func testShimOptions(bundle, id, root string) ShimOptions {
	exe, _ := os.Executable()
	return ShimOptions{
		Executable: exe,
		Args:       []string{},
		Env:        []string{"BERTH_TEST_ROLE=shim"},
		Bundle:     bundle,
		ID:         id,
		LogPath:    filepath.Join(bundle, "container.log"),
		Runtime:    Runc{Root: root},
	}
}

// requireRunc skips tests needing root and a real runc.
func requireRunc(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	if _, err := exec.LookPath("runc"); err != nil {
		t.Skip("runc not installed")
	}
	if _, err := os.Stat("/bin/busybox"); err != nil {
		t.Skip("busybox-static not installed")
	}
}

// busyboxRootfs builds a minimal root filesystem: a static busybox with
// a symlink per applet, and passwd/group files for user resolution.
func busyboxRootfs(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	rootfs := filepath.Join(dir, "rootfs")
	for _, d := range []string{"bin", "etc", "proc", "sys", "dev", "tmp", "root", "home/app"} {
		if err := os.MkdirAll(filepath.Join(rootfs, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	bb, err := os.ReadFile("/bin/busybox")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(rootfs, "bin/busybox"), bb, 0o755); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("/bin/busybox", "--list").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, applet := range strings.Fields(string(out)) {
		if applet == "busybox" {
			continue
		}
		if err := os.Symlink("busybox", filepath.Join(rootfs, "bin", applet)); err != nil {
			t.Fatal(err)
		}
	}
	files := map[string]string{
		"etc/passwd": "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n",
		"etc/group":  "root:x:0:\napp:x:1000:\nstaff:x:50:app\naudio:x:29:root,app\n",
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(rootfs, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return rootfs
}

// testEnv is one container's directory plus an isolated runc root.
type testEnv struct {
	t      *testing.T
	bundle string
	id     string
	runc   Runc
}

var testSeq int

func newTestEnv(t *testing.T) *testEnv {
	t.Helper()
	testSeq++
	id := fmt.Sprintf("berth-test-%d-%d", os.Getpid(), testSeq)
	e := &testEnv{t: t, bundle: t.TempDir(), id: id, runc: Runc{Root: filepath.Join(t.TempDir(), "runc")}}
	t.Cleanup(func() {
		// Best effort if the test failed half-way; the tests assert the
		// shim itself cleans up.
		if st, err := Adopt(e.bundle); err == nil && st.ShimAlive {
			syscall.Kill(st.ShimPid, syscall.SIGKILL)
		}
		e.runc.Delete(e.id)
	})
	return e
}

func (e *testEnv) container(rootfs string, args ...string) Container {
	return Container{ID: e.id, Rootfs: rootfs, Args: args, CgroupParent: "/berth-test"}
}

func (e *testEnv) writeSpec(c Container) {
	e.t.Helper()
	s, err := Spec(e.t.Context(), c)
	if err != nil {
		e.t.Fatal(err)
	}
	if err := WriteSpec(e.bundle, s); err != nil {
		e.t.Fatal(err)
	}
}

func (e *testEnv) options() ShimOptions {
	return testShimOptions(e.bundle, e.id, e.runc.Root)
}

// start starts c under a shim and returns the init pid.
func (e *testEnv) start(c Container) int {
	e.t.Helper()
	e.writeSpec(c)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pid, err := StartShim(ctx, e.options())
	if err != nil {
		e.t.Fatal(err)
	}
	return pid
}

func (e *testEnv) wait() Exit {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	exit, err := WaitExit(ctx, e.bundle)
	if err != nil {
		e.t.Fatal(err)
	}
	return exit
}

// run starts c and waits for it to end.
func (e *testEnv) run(c Container) Exit {
	e.t.Helper()
	e.start(c)
	return e.wait()
}

func (e *testEnv) logLines() []LogEntry {
	e.t.Helper()
	return readLog(e.t, filepath.Join(e.bundle, "container.log"))
}

// assertGone checks that nothing of the container remains: no runc state
// and no cgroup directory in any hierarchy.
func (e *testEnv) assertGone() {
	e.t.Helper()
	if _, err := e.runc.State(e.id); err == nil {
		e.t.Errorf("runc still knows container %s", e.id)
	}
	if _, err := os.Stat(filepath.Join(e.runc.Root, e.id)); !os.IsNotExist(err) {
		e.t.Errorf("runc state dir remains: %v", err)
	}
	matches, _ := filepath.Glob(filepath.Join("/sys/fs/cgroup/*/berth-test", e.id))
	more, _ := filepath.Glob(filepath.Join("/sys/fs/cgroup/berth-test", e.id))
	if left := append(matches, more...); len(left) > 0 {
		e.t.Errorf("cgroups left behind: %v", left)
	}
}
