package engine

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestExecAndStats runs berth exec (plain, with stdin, with a terminal,
// exit codes) and berth stats against real containers.
func TestExecAndStats(t *testing.T) {
	need(t)
	work := t.TempDir()
	root, runDir, sock := filepath.Join(work, "root"), filepath.Join(work, "run"), filepath.Join(work, "berth.sock")
	env := []string{"BERTH_SOCKET=" + sock, "BERTH_CACHE=" + filepath.Join(work, "cache")}

	rootfs := filepath.Join(work, "ctx", "rootfs")
	os.MkdirAll(filepath.Join(rootfs, "bin"), 0o755)
	os.MkdirAll(filepath.Join(rootfs, "www"), 0o755)
	bb, _ := os.ReadFile("/bin/busybox")
	os.WriteFile(filepath.Join(rootfs, "bin", "busybox"), bb, 0o755)
	for _, a := range []string{"sh", "httpd", "wget", "cat", "tty", "sleep"} {
		os.Symlink("busybox", filepath.Join(rootfs, "bin", a))
	}
	os.WriteFile(filepath.Join(rootfs, "www", "index.html"), bytes.Repeat([]byte("x"), 4096), 0o644)
	inner := freePort(t)
	layout := filepath.Join(work, "layout")
	yaml := fmt.Sprintf(`images:
  bb:
    from: scratch
    layers:
      - name: rootfs
        tar: {src: rootfs}
    config:
      entrypoint: [/bin/httpd, -f, -p, "%[1]d", -h, /www]
services:
  web:
    image: oci-layout:%[2]s:bb
  client:
    image: oci-layout:%[2]s:bb
    entrypoint: [/bin/sh, -c, "while true; do wget -qO /dev/null http://web:%[1]d/; sleep 0.2; done"]
    depends_on: [web]
`, inner, layout)
	file := filepath.Join(work, "ctx", "berth.yaml")
	os.WriteFile(file, []byte(yaml), 0o644)
	run(t, env, "build", "-f", file, "bb", "--oci-layout", layout)

	d := startDaemon(t, root, runDir, sock)
	t.Cleanup(func() {
		d.cmd.Process.Signal(syscall.SIGKILL)
		<-d.done
	})
	run(t, env, "up", "-f", file, "-p", "es")
	t.Cleanup(func() {
		cmd := exec.Command(berthBin, "down", "-p", "es")
		cmd.Env = append(os.Environ(), env...)
		cmd.Run()
	})

	// Plain exec: the output, and the container's own hostname.
	if out := run(t, env, "exec", "-p", "es", "web", "--", "cat", "/etc/hostname"); out != "es-web-1\n" {
		t.Fatalf("exec cat /etc/hostname: %q", out)
	}
	// Input is forwarded with -i, and ends.
	cmd := exec.Command(berthBin, "exec", "-i", "-p", "es", "web/1", "--", "cat")
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdin = strings.NewReader("piped input\n")
	if out, err := cmd.CombinedOutput(); err != nil || string(out) != "piped input\n" {
		t.Fatalf("exec -i cat: %q %v", out, err)
	}
	// The exit code propagates; stderr stays stderr.
	cmd = exec.Command(berthBin, "exec", "-p", "es", "web", "--", "sh", "-c", "echo oops >&2; exit 7")
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	var ee *exec.ExitError
	if err := cmd.Run(); !errors.As(err, &ee) || ee.ExitCode() != 7 || stdout.Len() != 0 || stderr.String() != "oops\n" {
		t.Fatalf("exec exit 7: %v stdout %q stderr %q", err, stdout.String(), stderr.String())
	}
	// An unknown replica is a clear error.
	cmd = exec.Command(berthBin, "exec", "-p", "es", "web/3", "--", "true")
	cmd.Env = append(os.Environ(), env...)
	if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), `"es-web-3"`) {
		t.Fatalf("exec in a missing replica: %v %s", err, out)
	}

	// With -t the command gets a terminal of its own.
	if out, code := runOnPty(t, env, "", "exec", "-t", "-p", "es", "web", "--", "tty"); code != 0 || !regexp.MustCompile(`^/dev/pts/\d+\r\n$`).MatchString(out) {
		t.Fatalf("exec -t tty: exit %d, %q", code, out)
	}
	// -it: keys typed on our terminal reach an interactive shell in raw
	// mode, and its exit code comes back.
	if out, code := runOnPty(t, env, "exit 5\r", "exec", "-it", "-p", "es", "web", "--", "sh"); code != 5 {
		t.Fatalf("exec -it sh, typing exit 5: exit %d, %q", code, out)
	}

	// stats: memory and pids of every running container; network bytes
	// received by the client, which keeps fetching from web.
	eventually(t, "stats with network traffic", 20*time.Second, func() (bool, string) {
		out := run(t, env, "stats", "-p", "es", "--no-stream", "--json")
		lines := map[string]map[string]any{}
		sc := bufio.NewScanner(strings.NewReader(out))
		for sc.Scan() {
			var l map[string]any
			if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
				t.Fatalf("stats --json line %q: %v", sc.Text(), err)
			}
			lines[l["name"].(string)] = l
		}
		for _, name := range []string{"es-web-1", "es-client-1"} {
			l, ok := lines[name]
			if !ok {
				return false, out
			}
			if l["memoryBytes"].(float64) <= 0 || l["pids"].(float64) < 1 || l["memoryLimit"].(float64) <= 0 {
				t.Fatalf("stats of %s: %v", name, l)
			}
		}
		return lines["es-client-1"]["netRx"].(float64) > 0 && lines["es-web-1"]["netTx"].(float64) > 0, out
	})
	if out := run(t, env, "stats", "-p", "es", "--no-stream"); !strings.Contains(out, "MEM USAGE / LIMIT") || !strings.Contains(out, "es-client-1") {
		t.Fatalf("stats table:\n%s", out)
	}
}

// runOnPty runs berth with a pseudo-terminal as its stdin, stdout and
// controlling terminal, types input into it, and returns what it printed
// and its exit code.
func runOnPty(t *testing.T, env []string, input string, args ...string) (string, int) {
	t.Helper()
	mfd, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	master := os.NewFile(uintptr(mfd), "ptmx")
	defer master.Close()
	if err := unix.IoctlSetPointerInt(mfd, unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	unix.IoctlSetWinsize(mfd, unix.TIOCSWINSZ, &unix.Winsize{Row: 30, Col: 100})
	sfd, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(mfd), unix.TIOCGPTPEER, unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC)
	if errno != 0 {
		t.Fatal(errno)
	}
	slave := os.NewFile(sfd, "pty")
	cmd := exec.Command(berthBin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	slave.Close()
	var out bytes.Buffer
	copied := make(chan struct{})
	go func() {
		io.Copy(&out, master) // ends with EIO when berth exits
		close(copied)
	}()
	if input != "" {
		master.Write([]byte(input))
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var werr error
	select {
	case werr = <-done:
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("berth %s did not exit; output so far: %q", strings.Join(args, " "), out.String())
	}
	<-copied
	code := 0
	var ee *exec.ExitError
	if errors.As(werr, &ee) {
		code = ee.ExitCode()
	} else if werr != nil {
		t.Fatal(werr)
	}
	return out.String(), code
}
