package engine

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestAcceptanceBadInput: bad input gives an error naming its cause, and
// leaves nothing half-created behind.
func TestAcceptanceBadInput(t *testing.T) {
	s := newStackEnv(t, "acc-bad")
	bb := buildBusybox(t, s.env, filepath.Join(s.work, "images"))

	t.Run("unknown image", func(t *testing.T) {
		s := s.with(t)
		file := s.write("unknown-image/compose.yaml", `services:
  ghost:
    image: oci-layout:/nonexistent:x
`)
		out := s.berthFail("up", "-f", file, "-p", s.project)
		t.Logf("berth up: %s", out)
		if !strings.Contains(out, "/nonexistent") || !strings.Contains(out, "ghost") {
			t.Fatalf("the error names neither the image nor the service:\n%s", out)
		}
		s.noStackLeft("after an unknown image")
	})

	t.Run("unknown image after a good service", func(t *testing.T) {
		s := s.with(t)
		// The good service must not be started either: images are
		// resolved before anything is created.
		file := s.write("unknown-image2/compose.yaml", fmt.Sprintf(`services:
  good:
    image: oci-layout:%s:bb
    entrypoint: [/bin/sh, -c, %q]
  ghost:
    image: oci-layout:/nonexistent:x
    depends_on: [good]
`, bb, idle))
		out := s.berthFail("up", "-f", file, "-p", s.project)
		t.Logf("berth up: %s", out)
		if !strings.Contains(out, "/nonexistent") {
			t.Fatalf("the error does not name the image:\n%s", out)
		}
		s.noStackLeft("after an unknown image in the second service")
	})

	t.Run("port in use", func(t *testing.T) {
		s := s.with(t)
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		port := l.Addr().(*net.TCPAddr).Port
		file := s.write("port/compose.yaml", fmt.Sprintf(`services:
  web:
    image: oci-layout:%s:bb
    entrypoint: [/bin/sh, -c, %q]
    ports: ["127.0.0.1:%d:80"]
`, bb, idle, port))
		out := s.berthFail("up", "-f", file, "-p", s.project)
		t.Logf("berth up: %s", out)
		if !strings.Contains(out, fmt.Sprint(port)) || !strings.Contains(out, "in use") {
			t.Fatalf("the error does not name port %d as in use:\n%s", port, out)
		}
		s.noStackLeft("after a port in use")
		// The listener the test holds still gets its own connections.
		c, err := net.Dial("tcp", l.Addr().String())
		if err != nil {
			t.Fatalf("the test's listener on %d no longer reachable: %v", port, err)
		}
		c.Close()
	})

	t.Run("bad compose file", func(t *testing.T) {
		s := s.with(t)
		cases := []struct {
			name, yaml string
			want       []string
		}{
			{"unknown field", "services:\n  web:\n    image: busybox\n    imagee: busybox\n", []string{"imagee"}},
			{"wrong type", "services:\n  web:\n    image: busybox\n    ports: {a: 1}\n", []string{"ports"}},
			{"not yaml", "services:\n  web: [\n", []string{"compose.yaml"}},
		}
		for _, c := range cases {
			file := s.write(filepath.Join("bad", strings.ReplaceAll(c.name, " ", "-"), "compose.yaml"), c.yaml)
			out := s.berthFail("up", "-f", file, "-p", s.project)
			t.Logf("%s: berth up: %s", c.name, out)
			if !strings.Contains(out, file) {
				t.Errorf("%s: the error does not name the file %s:\n%s", c.name, file, out)
			}
			for _, w := range c.want {
				if !strings.Contains(out, w) {
					t.Errorf("%s: the error does not name %q:\n%s", c.name, w, out)
				}
			}
		}
		s.noStackLeft("after bad compose files")
	})
}

// daemonRefuses starts a daemon with extra arguments and environment,
// expects it to exit with an error, and returns its output.
func daemonRefuses(t *testing.T, env []string, args ...string) string {
	t.Helper()
	work := t.TempDir()
	cmd := exec.Command(berthBin, append([]string{"daemon", "--root", filepath.Join(work, "root"),
		"--run-dir", filepath.Join(work, "run"), "--socket", filepath.Join(work, "berth.sock")}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err == nil {
			t.Fatalf("the daemon exited 0:\n%s", out.String())
		}
	case <-time.After(15 * time.Second):
		cmd.Process.Kill()
		<-done
		t.Fatalf("the daemon did not refuse to start:\n%s", out.String())
	}
	if _, err := os.Stat(filepath.Join(work, "berth.sock")); err == nil {
		t.Errorf("the refused daemon left its socket")
	}
	t.Logf("berth daemon: %s", out.String())
	return out.String()
}

// TestAcceptanceDaemonNeedsRuncAndCNI: without runc or a CNI plugin the
// daemon refuses to start, naming what is missing.
func TestAcceptanceDaemonNeedsRuncAndCNI(t *testing.T) {
	need(t)
	t.Run("no runc", func(t *testing.T) {
		// A PATH with everything but runc: the tools the CNI plugins
		// need stay reachable, so runc is the only thing missing.
		bin := t.TempDir()
		for _, tool := range []string{"iptables", "iptables-save", "iptables-restore", "ip"} {
			if p, err := exec.LookPath(tool); err == nil {
				os.Symlink(p, filepath.Join(bin, tool))
			}
		}
		out := daemonRefuses(t, []string{"PATH=" + bin})
		if !strings.Contains(out, "runc") {
			t.Fatalf("the error does not name runc:\n%s", out)
		}
	})
	t.Run("no CNI plugins", func(t *testing.T) {
		out := daemonRefuses(t, nil, "--cni-path", t.TempDir())
		if !strings.Contains(out, "CNI plugin") || !strings.Contains(out, "bridge") {
			t.Fatalf("the error does not name the missing CNI plugin:\n%s", out)
		}
	})
	t.Run("one CNI plugin missing", func(t *testing.T) {
		dir := t.TempDir()
		for _, p := range []string{"bridge", "host-local", "firewall", "loopback"} {
			os.Symlink(filepath.Join("/usr/lib/cni", p), filepath.Join(dir, p))
		}
		out := daemonRefuses(t, nil, "--cni-path", dir)
		if !strings.Contains(out, `"portmap"`) {
			t.Fatalf("the error does not name the portmap plugin:\n%s", out)
		}
	})
}
