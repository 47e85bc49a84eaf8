package network

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root (network namespaces, CNI plugins, iptables)")
	}
	for _, p := range requiredPlugins {
		if !pluginExists(DefaultPluginDirs, p) {
			t.Skipf("CNI plugin %s not installed", p)
		}
	}
}

// newTestManager gives each test its own state and run directories and a
// unique network-name suffix, and removes everything at the end.
func newTestManager(t *testing.T) *Manager {
	t.Helper()
	requireRoot(t)
	m, err := NewManager(t.TempDir(), t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func uniqueName(t *testing.T, prefix string) string {
	return fmt.Sprintf("%s%d", prefix, time.Now().UnixNano()%1_000_000_000)
}

// inNetNS runs fn on an OS thread switched into the namespace at path.
func inNetNS(path string, fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		errc <- func() error {
			orig, err := os.Open(fmt.Sprintf("/proc/self/task/%d/ns/net", unix.Gettid()))
			if err != nil {
				return err
			}
			defer orig.Close()
			target, err := os.Open(path)
			if err != nil {
				return err
			}
			defer target.Close()
			if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
				return fmt.Errorf("setns %s: %w", path, err)
			}
			ferr := fn()
			if err := unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET); err != nil {
				// Leave the thread locked: the runtime discards it.
				return fmt.Errorf("setns back: %w", err)
			}
			runtime.UnlockOSThread()
			return ferr
		}()
	}()
	return <-errc
}

// listenInNetNS opens a TCP echo-ish server in the namespace: every
// connection gets greeting and is closed.
func listenInNetNS(t *testing.T, path, addr, greeting string) net.Listener {
	t.Helper()
	var l net.Listener
	if err := inNetNS(path, func() error {
		var err error
		l, err = net.Listen("tcp4", addr)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Write([]byte(greeting))
			c.Close()
		}
	}()
	return l
}

// readFrom dials addr (optionally from inside a namespace) and returns what
// the server sends before closing.
func readFrom(nsPath, addr string) (string, error) {
	var out string
	dial := func() error {
		c, err := net.DialTimeout("tcp4", addr, 2*time.Second)
		if err != nil {
			return err
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(3 * time.Second))
		var b strings.Builder
		buf := make([]byte, 256)
		for {
			n, err := c.Read(buf)
			b.Write(buf[:n])
			if err != nil {
				break
			}
		}
		out = b.String()
		return nil
	}
	var err error
	if nsPath == "" {
		err = dial()
	} else {
		err = inNetNS(nsPath, dial)
	}
	return out, err
}

// eventually polls cond until it succeeds or the deadline passes.
func eventually(t *testing.T, what string, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	var err error
	for time.Now().Before(deadline) {
		if err = cond(); err == nil {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s: %v", what, err)
}

func iptablesSave(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("iptables-save").Output()
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

func links(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("ip", "-o", "link").Output()
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// vethNames lists the host's veths that could be berth's: a veth enslaved
// to another tool's bridge (a Kubernetes test cluster's pods, docker's) is
// not, and may come and go while these tests run.
func vethNames(t *testing.T) map[string]bool {
	out := map[string]bool{}
	for _, line := range strings.Split(links(t), "\n") {
		f := strings.Fields(line)
		if i := slices.Index(f, "master"); i >= 0 && i+1 < len(f) && !strings.HasPrefix(f[i+1], "br-") {
			continue
		}
		if len(f) > 1 && strings.HasPrefix(f[1], "veth") {
			name, _, _ := strings.Cut(strings.TrimSuffix(f[1], ":"), "@")
			out[name] = true
		}
	}
	return out
}

// freePort returns a TCP port nothing on the host listens on right now.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
