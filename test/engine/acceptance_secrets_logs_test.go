package engine

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestAcceptanceSecretOnlyInItsService: a secret is a 0400 file in
// /run/secrets of the service that names it, and absent from another
// service of the same stack; its value never reaches the logs.
func TestAcceptanceSecretOnlyInItsService(t *testing.T) {
	s := newStackEnv(t, "acc-secret")
	bb := buildBusybox(t, s.env, filepath.Join(s.work, "images"))
	const value = "v4lue-0f-the-s3cret"
	s.write("token.txt", value)
	// Each service reports what it sees without printing the value: its
	// length and mode, or that the file is not there.
	report := `if test -e /run/secrets/token; then echo "has token: $$(wc -c < /run/secrets/token) bytes, mode $$(stat -c %a /run/secrets/token)"; else echo "no token: $$(ls /run/secrets 2>&1)"; fi; ` + idle
	s.up(fmt.Sprintf(`services:
  holder:
    image: oci-layout:%[1]s:bb
    entrypoint: [/bin/sh, -c, %[2]q]
    secrets: [token]
  other:
    image: oci-layout:%[1]s:bb
    entrypoint: [/bin/sh, -c, %[2]q]
secrets:
  token:
    file: ./token.txt
`, bb, report))

	want := fmt.Sprintf("has token: %d bytes, mode 400", len(value))
	eventually(t, "holder reading its secret", 15*time.Second, func() (bool, string) {
		logs := s.logs("holder")
		return strings.Contains(logs, want), logs
	})
	eventually(t, "other reporting on the secret", 15*time.Second, func() (bool, string) {
		logs := s.logs("other")
		return strings.Contains(logs, "no token: "), logs
	})
	if logs := s.logs("other"); strings.Contains(logs, "has token") {
		t.Fatalf("a service without the secret sees /run/secrets/token:\n%s", logs)
	}
	if logs := s.berth("logs", "-p", s.project); strings.Contains(logs, value) {
		t.Fatalf("the secret's value appeared in the logs:\n%s", logs)
	}
	// Nor is it in anything the engine keeps on disk outside the secret's
	// tmpfs (container records, OCI specs, logs).
	filepath.WalkDir(filepath.Join(s.root, "containers"), func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() && (d.Name() == "rootfs" || d.Name() == "secrets") {
			return filepath.SkipDir
		}
		if d.Type().IsRegular() {
			if raw, _ := os.ReadFile(p); strings.Contains(string(raw), value) {
				t.Errorf("the secret's value is in %s", p)
			}
		}
		return nil
	})
}

// TestAcceptanceLogsFollowAcrossReplicas: `berth logs -f` of a service
// with two replicas shows new lines of both, each prefixed by its
// container's name.
func TestAcceptanceLogsFollowAcrossReplicas(t *testing.T) {
	s := newStackEnv(t, "acc-logs")
	bb := buildBusybox(t, s.env, filepath.Join(s.work, "images"))
	// The replicas print "go" lines only once the test creates the file
	// shared/go: lines that can only appear while logs -f is following.
	shared := filepath.Join(s.work, "shared")
	if err := os.MkdirAll(shared, 0o755); err != nil {
		t.Fatal(err)
	}
	loop := `trap "exit 0" TERM; echo "started $$(hostname)"; i=0; while true; do if test -f /shared/go; then i=$$((i+1)); echo "go $$i from $$(hostname)"; fi; sleep 0.2 & wait; done`
	s.up(fmt.Sprintf(`services:
  web:
    image: oci-layout:%[1]s:bb
    entrypoint: [/bin/sh, -c, %[2]q]
    deploy: {replicas: 2}
    volumes: ["%[3]s:/shared:ro"]
`, bb, loop, shared))
	eventually(t, "both replicas started", 15*time.Second, func() (bool, string) {
		logs := s.logs("web")
		return strings.Contains(logs, "started acc-logs-web-1") && strings.Contains(logs, "started acc-logs-web-2"), logs
	})

	cmd := exec.Command(berthBin, "logs", "-f", "-p", s.project, "web")
	cmd.Env = append(os.Environ(), s.env...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 1024)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		io.Copy(io.Discard, stdout)
		cmd.Wait()
	})

	// The history first: both replicas' start lines.
	var seen []string
	waitFor := func(what string, ok func(line string) bool) {
		t.Helper()
		deadline := time.After(20 * time.Second)
		for {
			select {
			case l, open := <-lines:
				if !open {
					t.Fatalf("berth logs -f ended before %s; stderr: %s\nlines:\n%s", what, stderr.String(), strings.Join(seen, "\n"))
				}
				seen = append(seen, l)
				if ok(l) {
					return
				}
			case <-deadline:
				t.Fatalf("berth logs -f: no %s within 20s; lines:\n%s", what, strings.Join(seen, "\n"))
			}
		}
	}
	// Replicas start concurrently: their start lines may come in any order.
	starts := map[string]bool{}
	waitFor("start lines of both replicas", func(l string) bool {
		for _, n := range []string{"acc-logs-web-1", "acc-logs-web-2"} {
			if strings.HasSuffix(l, "| started "+n) {
				starts[n] = true
			}
		}
		return len(starts) == 2
	})
	// Then new lines, written after logs -f started, from both replicas.
	if err := os.WriteFile(filepath.Join(shared, "go"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	waitFor("new lines of both replicas", func(l string) bool {
		for _, n := range []string{"acc-logs-web-1", "acc-logs-web-2"} {
			if strings.HasPrefix(l, n+" ") && strings.Contains(l, "| go ") && strings.HasSuffix(l, " from "+n) {
				got[n] = true
			}
		}
		return len(got) == 2
	})
	for _, l := range seen {
		if !strings.HasPrefix(l, "acc-logs-web-1 ") && !strings.HasPrefix(l, "acc-logs-web-2 ") {
			t.Errorf("a line without its container's name: %q", l)
		}
	}
}
