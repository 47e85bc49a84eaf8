package runtime

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func logText(entries []LogEntry, stream string) string {
	var b strings.Builder
	for _, e := range entries {
		if e.Stream == stream {
			b.WriteString(e.Log)
		}
	}
	return b.String()
}

func TestShimRunsContainerAndRecordsExit(t *testing.T) {
	requireRunc(t)
	rootfs := busyboxRootfs(t)

	e := newTestEnv(t)
	exit := e.run(e.container(rootfs, "sh", "-c", "echo hello; echo oops >&2"))
	if exit.ExitCode != 0 || exit.Signal != 0 || exit.OOMKilled || exit.Error != "" {
		t.Fatalf("exit = %+v, want a clean exit 0", exit)
	}
	if exit.StartedAt.IsZero() || exit.FinishedAt.Before(exit.StartedAt) {
		t.Errorf("times: started %v finished %v", exit.StartedAt, exit.FinishedAt)
	}
	entries := e.logLines()
	if got := logText(entries, "stdout"); got != "hello\n" {
		t.Errorf("stdout log = %q, want \"hello\\n\"", got)
	}
	if got := logText(entries, "stderr"); got != "oops\n" {
		t.Errorf("stderr log = %q, want \"oops\\n\"", got)
	}
	for _, en := range entries {
		if en.Time.IsZero() {
			t.Errorf("entry without time: %+v", en)
		}
	}
	e.assertGone()

	e3 := newTestEnv(t)
	if exit := e3.run(e3.container(rootfs, "sh", "-c", "exit 3")); exit.ExitCode != 3 || exit.OOMKilled {
		t.Errorf("exit = %+v, want code 3", exit)
	}
	e3.assertGone()
}

func TestShimRecordsOOMKill(t *testing.T) {
	requireRunc(t)
	rootfs := busyboxRootfs(t)
	e := newTestEnv(t)
	c := e.container(rootfs, "sh", "-c", "head -c 200m /dev/zero | tail")
	c.Resources.MemoryBytes = 16 << 20
	exit := e.run(c)
	if !exit.OOMKilled || exit.ExitCode == 0 {
		t.Fatalf("exit = %+v, want an OOM kill", exit)
	}
	e.assertGone()
}

func TestContainerIsHardenedLikeDocker(t *testing.T) {
	requireRunc(t)
	rootfs := busyboxRootfs(t)
	e := newTestEnv(t)
	c := e.container(rootfs, "sh", "-c", `grep -E '^(CapEff|CapBnd|CapAmb|NoNewPrivs|Seccomp):' /proc/self/status
echo timer_list=$(wc -c < /proc/timer_list) keys=$(wc -c < /proc/keys) firmware=$(ls -A /sys/firmware | wc -l)
if [ -e /proc/kcore ]; then echo kcore=$(wc -c < /proc/kcore); else echo kcore=absent; fi
if touch /written 2>/dev/null; then echo rootfs=writable; else echo rootfs=readonly; fi
if echo 1 > /proc/sys/kernel/domainname 2>/dev/null; then echo procsys=writable; else echo procsys=readonly; fi
echo host=$(hostname)
ls /sys/fs/cgroup/memory >/dev/null && echo cgroupfs=ok
grep ' /dev/shm ' /proc/mounts`)
	c.ReadOnlyRootfs = true
	c.Hostname = "hardened"
	if exit := e.run(c); exit.ExitCode != 0 {
		t.Fatalf("exit = %+v; log %q", exit, logText(e.logLines(), "stderr"))
	}
	out := logText(e.logLines(), "stdout")
	// Masked files read as empty (bind-mounted /dev/null); this kernel
	// may have no /proc/kcore at all, and then there is nothing to mask.
	kcoreWant := "kcore=absent"
	if _, err := os.Stat("/proc/kcore"); err == nil {
		kcoreWant = "kcore=0"
	}
	if b, _ := os.ReadFile("/proc/timer_list"); len(b) == 0 {
		t.Fatal("host /proc/timer_list is empty: the masking check would prove nothing")
	}
	for _, want := range []string{
		"CapEff:\t00000000a80425fb", "CapBnd:\t00000000a80425fb", "CapAmb:\t0000000000000000",
		"NoNewPrivs:\t1", "Seccomp:\t2", "timer_list=0 keys=0 firmware=0", kcoreWant, "rootfs=readonly", "procsys=readonly",
		"host=hardened", "cgroupfs=ok", "size=65536k",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("container output lacks %q:\n%s", want, out)
		}
	}
	e.assertGone()
}

func TestStartFailureIsReportedAndLeavesNothing(t *testing.T) {
	requireRunc(t)
	rootfs := busyboxRootfs(t)
	e := newTestEnv(t)
	e.writeSpec(e.container(rootfs, "/no/such/binary"))
	_, err := StartShim(context.Background(), e.options())
	if err == nil || !strings.Contains(err.Error(), "/no/such/binary") {
		t.Fatalf("err = %v, want it to name the missing binary", err)
	}
	exit := e.wait()
	if exit.Error == "" || exit.ExitCode != -1 {
		t.Errorf("exit = %+v, want the start error recorded", exit)
	}
	e.assertGone()

	bad := e.options()
	bad.Runtime.Binary = "/no/such/runc"
	if _, err := StartShim(context.Background(), bad); err == nil || !strings.Contains(err.Error(), "/no/such/runc") {
		t.Errorf("missing runtime: err = %v", err)
	}
}

// The daemon may die (kill -9) right after starting a container: the
// supervisor must keep the container running, and a new daemon must be
// able to adopt, stop and collect it.
func TestContainerSurvivesLauncherDeathAndIsAdopted(t *testing.T) {
	requireRunc(t)
	rootfs := busyboxRootfs(t)
	e := newTestEnv(t)
	c := e.container(rootfs, "sh", "-c", "trap 'echo got TERM; exit 0' TERM; echo ready; while :; do sleep 1; done")
	c.Resources = Resources{MemoryBytes: 32 << 20, PidsLimit: 50}
	e.writeSpec(c)

	exe, _ := os.Executable()
	launcher := exec.Command(exe, e.bundle, e.id, e.runc.Root)
	launcher.Env = append(os.Environ(), "BERTH_TEST_ROLE=launcher")
	out, err := launcher.Output()
	if ws, ok := launcher.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("launcher did not die by SIGKILL: %v (output %q)", err, out)
	}
	initPid, err := strconv.Atoi(strings.TrimSpace(string(out)))
	if err != nil {
		t.Fatalf("launcher output %q: %v", out, err)
	}

	st, err := Adopt(e.bundle)
	if err != nil {
		t.Fatal(err)
	}
	if !st.ShimAlive || !st.InitAlive || st.InitPid != initPid || st.Exit != nil || st.StartedAt.IsZero() {
		t.Fatalf("adopted state = %+v, want live shim and init %d", st, initPid)
	}
	if sid, _ := unix.Getsid(st.ShimPid); sid != st.ShimPid {
		t.Errorf("shim session = %d, want its own (%d)", sid, st.ShimPid)
	}
	if status, err := e.runc.State(e.id); err != nil || status != "running" {
		t.Errorf("runc state = %q, %v", status, err)
	}
	// The init is waiting in its loop once "ready" is logged.
	waitFor(t, func() bool {
		return strings.Contains(logText(readLog(t, filepath.Join(e.bundle, "container.log")), "stdout"), "ready")
	})

	stats, err := ReadStats(CgroupsPath("/berth-test", e.id))
	if err != nil {
		t.Fatal(err)
	}
	if stats.MemoryLimit != 32<<20 || stats.PidsLimit != 50 || stats.PidsCurrent < 1 || stats.MemoryUsage == 0 || stats.CPUUsageNanos == 0 {
		t.Errorf("stats = %+v", stats)
	}

	if err := e.runc.Kill(e.id, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	exit := e.wait()
	if exit.ExitCode != 0 {
		t.Errorf("exit = %+v, want 0 from the TERM trap", exit)
	}
	if !strings.Contains(logText(e.logLines(), "stdout"), "got TERM") {
		t.Error("trap output missing from log")
	}
	st, _ = Adopt(e.bundle)
	if st.ShimAlive || st.InitAlive || st.Exit == nil {
		t.Errorf("after exit: %+v", st)
	}
	e.assertGone()

	// Pid reuse: a record naming a live pid with another start time is
	// not "alive".
	if (procRecord{Pid: os.Getpid(), StartTime: 1}).alive() {
		t.Error("start-time mismatch not detected")
	}
}

func TestShimRotatesLogs(t *testing.T) {
	requireRunc(t)
	rootfs := busyboxRootfs(t)
	e := newTestEnv(t)
	e.writeSpec(e.container(rootfs, "sh", "-c", "i=0; while [ $i -lt 200 ]; do echo line $i; i=$((i+1)); done"))
	o := e.options()
	o.LogMaxSize, o.LogMaxFiles = 1000, 3
	if _, err := StartShim(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	if exit := e.wait(); exit.ExitCode != 0 {
		t.Fatalf("exit = %+v", exit)
	}
	logPath := filepath.Join(e.bundle, "container.log")
	for _, f := range []string{logPath, logPath + ".1", logPath + ".2"} {
		fi, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Size() > 1000 {
			t.Errorf("%s: %d bytes > 1000", f, fi.Size())
		}
	}
	if _, err := os.Stat(logPath + ".3"); !os.IsNotExist(err) {
		t.Errorf("%s.3 exists: max-files not honoured", logPath)
	}
	entries := readLog(t, logPath)
	if last := entries[len(entries)-1].Log; last != "line 199\n" {
		t.Errorf("last entry %q", last)
	}
}

// waitFor polls cond until it holds or a deadline passes.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met before the deadline")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A supervisor killed outright leaves the container running unsupervised:
// Adopt must say so, WaitExit must not hang, and Delete must clean up.
func TestShimLossIsDetected(t *testing.T) {
	requireRunc(t)
	rootfs := busyboxRootfs(t)
	e := newTestEnv(t)
	initPid := e.start(e.container(rootfs, "sleep", "1000"))
	st, err := Adopt(e.bundle)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(st.ShimPid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { st, _ = Adopt(e.bundle); return !st.ShimAlive })
	if !st.InitAlive || st.InitPid != initPid || st.Exit != nil {
		t.Fatalf("state after shim death = %+v, want init %d still alive and no exit", st, initPid)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := WaitExit(ctx, e.bundle); !errors.Is(err, ErrShimLost) {
		t.Fatalf("WaitExit err = %v, want ErrShimLost", err)
	}
	if err := e.runc.Delete(e.id); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { st, _ = Adopt(e.bundle); return !st.InitAlive })
	e.assertGone()
	if err := e.runc.Delete(e.id); err != nil {
		t.Errorf("second delete: %v (cleanup must be idempotent)", err)
	}
}

// Like Docker on cgroup v2 (and here on v1 too), a container has its own
// cgroup namespace: /proc/self/cgroup shows "/" for its own cgroups, not
// the host path that names the daemon's layout.
func TestContainerHasCgroupNamespace(t *testing.T) {
	requireRunc(t)
	rootfs := busyboxRootfs(t)
	e := newTestEnv(t)
	c := e.container(rootfs, "sh", "-c", `cat /proc/self/cgroup; echo ns=$(readlink /proc/self/ns/cgroup)`)
	if exit := e.run(c); exit.ExitCode != 0 {
		t.Fatalf("exit = %+v; log %q", exit, logText(e.logLines(), "stderr"))
	}
	out := logText(e.logLines(), "stdout")
	host, err := os.Readlink("/proc/self/ns/cgroup")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out, "berth-test") || strings.Contains(out, e.id) {
		t.Errorf("/proc/self/cgroup in the container shows host cgroup paths:\n%s", out)
	}
	if strings.Contains(out, "ns="+host) || !strings.Contains(out, "ns=cgroup:[") {
		t.Errorf("container cgroup namespace is the host's (%s):\n%s", host, out)
	}
	lines := 0
	for _, l := range strings.Split(out, "\n") {
		if f := strings.SplitN(l, ":", 3); len(f) == 3 && !strings.HasPrefix(l, "ns=") {
			lines++
			if f[2] != "/" {
				t.Errorf("cgroup line %q: path %q, want / (namespaced)", l, f[2])
			}
		}
	}
	if lines == 0 {
		t.Errorf("no cgroup lines in:\n%s", out)
	}
	e.assertGone()
}

// Mount points are created by runc inside the root: a symlink in the image
// at a mount destination, pointing at a host directory, resolves inside
// the rootfs and the host directory is left alone (see rootfile.go's
// audit).
func TestMountDestinationSymlinkStaysInRoot(t *testing.T) {
	requireRunc(t)
	rootfs := busyboxRootfs(t)
	host := t.TempDir() // exists on the host, not in the rootfs
	if err := os.Symlink(host, filepath.Join(rootfs, "data")); err != nil {
		t.Fatal(err)
	}
	src := t.TempDir()
	if err := os.WriteFile(filepath.Join(src, "f"), []byte("volume"), 0o644); err != nil {
		t.Fatal(err)
	}
	e := newTestEnv(t)
	c := e.container(rootfs, "sh", "-c", `cat /data/f && echo written > /data/g`)
	c.Mounts = []Mount{{Source: src, Destination: "/data", Type: "bind"}}
	if exit := e.run(c); exit.ExitCode != 0 {
		t.Fatalf("exit = %+v; log %q", exit, logText(e.logLines(), "stderr"))
	}
	if out := logText(e.logLines(), "stdout"); !strings.Contains(out, "volume") {
		t.Errorf("the bind mount is not at /data: %q", out)
	}
	if entries, _ := os.ReadDir(host); len(entries) != 0 {
		t.Errorf("the host directory %s the symlink named was written to: %v", host, entries)
	}
	if mi, _ := os.ReadFile("/proc/self/mountinfo"); strings.Contains(string(mi), host) {
		t.Errorf("something is mounted on the host directory %s", host)
	}
	if st, err := os.Stat(filepath.Join(rootfs, host)); err != nil || !st.IsDir() {
		t.Errorf("runc did not make the mount point inside the rootfs: %v", err)
	}
	e.assertGone()
}
