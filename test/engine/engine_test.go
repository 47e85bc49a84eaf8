// Package engine tests berth's engine end to end, as root, on real runc,
// overlayfs and the Debian CNI plugins: berth build → berth daemon → berth
// up → traffic → kill -9 of the daemon → berth down.
package engine

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/miekg/dns"
	"golang.org/x/sys/unix"
)

var berthBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "berth-engine-")
	if err != nil {
		panic(err)
	}
	berthBin = filepath.Join(dir, "berth")
	// berth-shim goes next to berth, where the daemon looks for it first,
	// so the tests run containers under the supervisor a release ships.
	for _, b := range []struct{ out, pkg string }{
		{berthBin, "../../cmd/berth"},
		{filepath.Join(dir, "berth-shim"), "../../cmd/berth-shim"},
	} {
		build := exec.Command("go", "build", "-o", b.out, b.pkg)
		build.Stdout, build.Stderr = os.Stdout, os.Stderr
		if err := build.Run(); err != nil {
			fmt.Fprintln(os.Stderr, "building", b.pkg+":", err)
			os.Exit(1)
		}
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// need skips (or, under CI, fails) when the machine cannot run containers.
func need(t *testing.T) {
	t.Helper()
	var missing []string
	if os.Geteuid() != 0 {
		missing = append(missing, "root")
	}
	for _, tool := range []string{"runc", "/usr/lib/cni/bridge", "/bin/busybox"} {
		if _, err := exec.LookPath(tool); err != nil {
			if _, serr := os.Stat(tool); serr != nil {
				missing = append(missing, tool)
			}
		}
	}
	if len(missing) > 0 {
		if os.Getenv("CI") != "" {
			t.Fatalf("engine tests need %v (scripts/deps.sh installs them)", missing)
		}
		t.Skipf("engine tests need %v (run scripts/deps.sh as root)", missing)
	}
}

func run(t *testing.T, env []string, args ...string) string {
	t.Helper()
	cmd := exec.Command(berthBin, args...)
	cmd.Env = append(os.Environ(), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("berth %s: %v\n%s", strings.Join(args, " "), err, out.String())
	}
	return out.String()
}

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func eventually(t *testing.T, what string, timeout time.Duration, f func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	last := ""
	for {
		ok, s := f()
		if ok {
			return
		}
		last = s
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s; last: %s", what, last)
		}
		time.Sleep(50 * time.Millisecond) // polling interval
	}
}

func get(url string) (string, error) {
	c := http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

type daemon struct {
	cmd  *exec.Cmd
	done chan struct{}
}

func startDaemon(t *testing.T, root, runDir, sock string, extra ...string) *daemon {
	t.Helper()
	return startDaemonBin(t, berthBin, root, runDir, sock, extra...)
}

// startDaemonBin is startDaemon with another berth binary (an upgrade);
// extra are more flags of berth daemon (--console, --acme-*).
func startDaemonBin(t *testing.T, bin, root, runDir, sock string, extra ...string) *daemon {
	t.Helper()
	logf, _ := os.OpenFile(filepath.Join(filepath.Dir(sock), "daemon.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	cmd := exec.Command(bin, append([]string{"daemon", "--root", root, "--run-dir", runDir, "--socket", sock}, extra...)...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	d := &daemon{cmd: cmd, done: make(chan struct{})}
	go func() { cmd.Wait(); logf.Close(); close(d.done) }()
	t.Cleanup(func() { killProxies(t, runDir) })
	eventually(t, "the daemon socket", 15*time.Second, func() (bool, string) {
		c, err := net.Dial("unix", sock)
		if err == nil {
			c.Close()
			return true, ""
		}
		select {
		case <-d.done:
			raw, _ := os.ReadFile(filepath.Join(filepath.Dir(sock), "daemon.log"))
			t.Fatalf("daemon exited:\n%s", raw)
		default:
		}
		return false, err.Error()
	})
	return d
}

// killProxies kills the `berth proxy` processes whose arguments name dir
// (the daemon's run dir): the proxy runs detached so that it outlives
// daemon restarts, hence it survives the daemon's kill at the end of a test
// too. If the test failed, the proxy's log is printed.
func killProxies(t *testing.T, dir string) {
	for _, p := range proxyProcesses(dir) {
		if t.Failed() {
			for i, a := range p.args {
				if a == "--state" && i+1 < len(p.args) {
					log, _ := os.ReadFile(filepath.Join(filepath.Dir(p.args[i+1]), "proxy.log"))
					t.Logf("proxy log:\n%s", log)
				}
			}
		}
		_ = syscall.Kill(p.pid, syscall.SIGKILL)
	}
}

// proxyProcess is a running `berth proxy`.
type proxyProcess struct {
	pid  int
	args []string
}

// proxyProcesses lists the `berth proxy` processes whose arguments name
// dir (zombies excluded: they serve nothing).
func proxyProcesses(dir string) []proxyProcess {
	var out []proxyProcess
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		raw, err := os.ReadFile(p)
		if err != nil || len(raw) == 0 {
			continue
		}
		args := strings.Split(strings.TrimRight(string(raw), "\x00"), "\x00")
		if len(args) < 2 || filepath.Base(args[0]) != "berth" || args[1] != "proxy" || !strings.Contains(string(raw), dir) {
			continue
		}
		pid, err := strconv.Atoi(filepath.Base(filepath.Dir(p)))
		if err != nil {
			continue
		}
		out = append(out, proxyProcess{pid: pid, args: args})
	}
	return out
}

func TestStackUpServesSurvivesDaemonKillAndDownCleansUp(t *testing.T) {
	need(t)
	work := t.TempDir()
	root, runDir, sock := filepath.Join(work, "root"), filepath.Join(work, "run"), filepath.Join(work, "berth.sock")
	env := []string{"BERTH_SOCKET=" + sock, "BERTH_CACHE=" + filepath.Join(work, "cache")}

	// An image from busybox-static, built by berth.
	rootfs := filepath.Join(work, "ctx", "rootfs")
	os.MkdirAll(filepath.Join(rootfs, "bin"), 0o755)
	os.MkdirAll(filepath.Join(rootfs, "www"), 0o755)
	bb, _ := os.ReadFile("/bin/busybox")
	os.WriteFile(filepath.Join(rootfs, "bin", "busybox"), bb, 0o755)
	for _, a := range []string{"sh", "httpd", "wget", "cat", "test", "sleep", "echo"} {
		os.Symlink("busybox", filepath.Join(rootfs, "bin", a))
	}
	os.WriteFile(filepath.Join(rootfs, "www", "index.html"), []byte("hello from the engine\n"), 0o644)
	secret := filepath.Join(work, "ctx", "token.txt")
	os.WriteFile(secret, []byte("s3cr3t"), 0o600)
	port := freePort(t)
	inner := freePort(t) // the containers' own port; unpublished for "web"
	layout := filepath.Join(work, "layout")
	yaml := fmt.Sprintf(`images:
  bb:
    from: scratch
    layers:
      - name: rootfs
        tar: {src: rootfs}
    config:
      entrypoint: [/bin/httpd, -f, -p, "%[2]d", -h, /www]
services:
  web:
    image: oci-layout:%[3]s:bb
    replicas: 2
    volumes: ["data:/data"]
  front:
    image: oci-layout:%[3]s:bb
    ports: ["127.0.0.1:%[1]d:%[2]d"]
    restart: always
  probe:
    image: oci-layout:%[3]s:bb
    entrypoint: [/bin/sh, -c, "test -r /run/secrets/token && echo secret-readable; while true; do wget -qO- http://web:%[2]d/ && sleep 1; done"]
    depends_on: [web]
    secrets: [token]
volumes:
  data: {}
secrets:
  token:
    file: ./token.txt
`, port, inner, layout)
	os.WriteFile(filepath.Join(work, "ctx", "berth.yaml"), []byte(yaml), 0o644)
	file := filepath.Join(work, "ctx", "berth.yaml")
	run(t, env, "build", "-f", file, "bb", "--oci-layout", layout)

	d := startDaemon(t, root, runDir, sock)
	t.Cleanup(func() {
		d.cmd.Process.Signal(syscall.SIGKILL)
		<-d.done
	})
	out := run(t, env, "up", "-f", file, "-p", "demo", "--wait")
	for _, name := range []string{"demo-web-1", "demo-web-2", "demo-front-1", "demo-probe-1"} {
		if !strings.Contains(out, name) {
			t.Fatalf("up output lacks %s:\n%s", name, out)
		}
	}
	// The published port answers on 127.0.0.1; the unpublished one does not.
	eventually(t, "the published port", 15*time.Second, func() (bool, string) {
		body, err := get(fmt.Sprintf("http://127.0.0.1:%d/", port))
		return body == "hello from the engine\n", fmt.Sprint(body, err)
	})
	if _, err := get(fmt.Sprintf("http://127.0.0.1:%d/", inner)); err == nil {
		t.Fatalf("an unpublished container port answered on 127.0.0.1:%d", inner)
	}
	// probe reaches web by name (embedded DNS) and can read its secret.
	eventually(t, "probe reaching web by name", 20*time.Second, func() (bool, string) {
		logs := run(t, env, "logs", "-p", "demo", "probe")
		return strings.Contains(logs, "secret-readable") && strings.Contains(logs, "hello from the engine"), logs
	})
	if logs := run(t, env, "logs", "-p", "demo"); strings.Contains(logs, "s3cr3t") {
		t.Fatal("the secret's value appeared in logs")
	}

	// kill -9 of the daemon: containers keep serving; a new daemon adopts
	// them all and restarts none.
	before := run(t, env, "ps", "-p", "demo", "--json")
	d.cmd.Process.Signal(syscall.SIGKILL)
	<-d.done
	if body, err := get(fmt.Sprintf("http://127.0.0.1:%d/", port)); err != nil || body != "hello from the engine\n" {
		t.Fatalf("with the daemon dead: %q %v", body, err)
	}
	// Names keep resolving: the stack's DNS server runs in the proxy
	// process. Asked the way a container asks: from a container's network
	// namespace, at the gateway. From anywhere else (here: the host) the
	// server does not answer.
	gw := net.JoinHostPort(stackGateway(t, root), "53")
	nsFiles, _ := filepath.Glob(filepath.Join(runDir, "netns", "*"))
	if len(nsFiles) == 0 {
		t.Fatalf("no container network namespaces under %s", runDir)
	}
	var resp *dns.Msg
	err := inNetNS(nsFiles[0], func() (err error) {
		c := &dns.Client{Net: "udp", Timeout: 2 * time.Second}
		resp, _, err = c.Exchange(new(dns.Msg).SetQuestion("web.", dns.TypeA), gw)
		return err
	})
	if err != nil || len(resp.Answer) != 2 {
		t.Fatalf("with the daemon dead, web resolves to %v (%v), want its 2 replicas", resp, err)
	}
	c := &dns.Client{Net: "udp", Timeout: time.Second}
	if resp, _, err := c.Exchange(new(dns.Msg).SetQuestion("web.", dns.TypeA), gw); err == nil {
		t.Fatalf("the stack's DNS server answered a query from outside its bridge: %v", resp)
	}
	d = startDaemon(t, root, runDir, sock)
	after := run(t, env, "ps", "-p", "demo", "--json")
	if strings.Count(after, `"state": "running"`) != 4 || strings.Contains(after, `"restarts": 1`) {
		t.Fatalf("after the daemon restart:\n%s\nbefore:\n%s", after, before)
	}

	// down: nothing left — no mounts, netns, veths, bridges, CNI rules, cgroups.
	bridge := stackBridge(t, root)
	run(t, env, "down", "-p", "demo")
	if ps := run(t, env, "ps", "-p", "demo", "--json"); strings.Contains(ps, "demo-") {
		t.Fatalf("containers after down:\n%s", ps)
	}
	mounts, _ := os.ReadFile("/proc/self/mountinfo")
	if strings.Contains(string(mounts), root) || strings.Contains(string(mounts), runDir) {
		t.Fatalf("mounts left under %s or %s", root, runDir)
	}
	nets, _ := filepath.Glob(filepath.Join(root, "networks", "networks", "*"))
	if len(nets) != 0 {
		t.Fatalf("network records left: %v", nets)
	}
	// Other engines on the host may have veths of their own: look for
	// ours, the ones on the stack's bridge, and the bridge itself.
	if out, _ := exec.Command("ip", "-o", "link", "show", "master", bridge).CombinedOutput(); strings.Contains(string(out), "veth") {
		t.Fatalf("veths left on %s:\n%s", bridge, out)
	}
	if err := exec.Command("ip", "link", "show", bridge).Run(); err == nil {
		t.Fatalf("bridge %s left behind", bridge)
	}
	rules, _ := exec.Command("iptables-save").Output()
	if strings.Contains(string(rules), "berth-demo") {
		t.Fatalf("iptables rules left:\n%s", rules)
	}
	// Each container's cgroup (under the shared "berth" parent) is gone.
	var cs []struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal([]byte(after), &cs); err != nil || len(cs) != 4 {
		t.Fatalf("ps --json: %v\n%s", err, after)
	}
	for _, c := range cs {
		if _, err := os.Stat(filepath.Join("/sys/fs/cgroup/memory/berth", c.ID)); err == nil {
			t.Fatalf("cgroup of %s left behind", c.ID)
		}
	}
}

// stackGateway reads the gateway address of the (only) network under
// root: the containers' DNS server.
func stackGateway(t *testing.T, root string) string { return stackNetwork(t, root).Gateway }

// stackBridge reads the bridge name of the (only) network under root.
func stackBridge(t *testing.T, root string) string { return stackNetwork(t, root).Bridge }

type networkRecord struct {
	Bridge  string `json:"bridge"`
	Gateway string `json:"gateway"`
}

// stackNetwork reads the record of the (only) network under root.
func stackNetwork(t *testing.T, root string) networkRecord {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(root, "networks", "networks", "*.json"))
	if len(files) != 1 {
		t.Fatalf("network records: %v", files)
	}
	raw, _ := os.ReadFile(files[0])
	var n networkRecord
	if err := json.Unmarshal(raw, &n); err != nil || n.Bridge == "" || net.ParseIP(n.Gateway) == nil {
		t.Fatalf("network record %s: %v\n%s", files[0], err, raw)
	}
	return n
}

// inNetNS runs fn on an OS thread switched into the network namespace at
// path (a container's).
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
				return fmt.Errorf("setns back: %w", err) // the thread stays locked and is discarded
			}
			runtime.UnlockOSThread()
			return ferr
		}()
	}()
	return <-errc
}
