package runtime

import (
	"bytes"
	"context"
	"io"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe to poll while a copier writes to it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func startSleeper(t *testing.T) *testEnv {
	t.Helper()
	requireRunc(t)
	rootfs := busyboxRootfs(t)
	e := newTestEnv(t)
	c := e.container(rootfs, "sleep", "1000")
	c.Env = []string{"FROM_SPEC=yes"}
	e.start(c)
	t.Cleanup(func() {
		e.runc.Kill(e.id, syscall.SIGKILL)
		e.wait()
		e.assertGone()
	})
	return e
}

func TestExec(t *testing.T) {
	e := startSleeper(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	t.Run("pipes", func(t *testing.T) {
		var stdout, stderr bytes.Buffer
		code, err := e.runc.Exec(ctx, e.id, ExecOptions{
			Args:  []string{"sh", "-c", `cat; echo "env=$FROM_SPEC $EXTRA"; grep CapEff /proc/self/status; tty || true; echo err >&2; exit 5`},
			Env:   []string{"EXTRA=added"},
			Stdin: strings.NewReader("from stdin\n"), Stdout: &stdout, Stderr: &stderr,
		})
		if err != nil {
			t.Fatal(err)
		}
		if code != 5 {
			t.Errorf("exit code = %d, want 5", code)
		}
		out := stdout.String()
		for _, want := range []string{"from stdin\n", "env=yes added\n", "CapEff:\t00000000a80425fb", "not a tty"} {
			if !strings.Contains(out, want) {
				t.Errorf("stdout %q lacks %q", out, want)
			}
		}
		if stderr.String() != "err\n" {
			t.Errorf("stderr = %q", stderr.String())
		}
	})

	t.Run("tty", func(t *testing.T) {
		var out syncBuffer
		code, err := e.runc.Exec(ctx, e.id, ExecOptions{
			// runc applies the size just after starting the process (as
			// Docker does), so the script polls for it with a deadline.
			Args: []string{"sh", "-c", `tty; echo term=$TERM
for i in $(seq 100); do s=$(stty size 2>/dev/null) && [ -n "$s" ] && [ "$s" != "0 0" ] && break; usleep 20000; done
echo size=$s`},
			Tty: true, Size: Size{Rows: 40, Cols: 100},
			Stdout: &out,
		})
		if err != nil {
			t.Fatal(err)
		}
		if code != 0 {
			t.Errorf("exit code = %d", code)
		}
		got := out.String()
		if !regexp.MustCompile(`/dev/pts/\d+\r?\n`).MatchString(got) || !strings.Contains(got, "size=40 100") || !strings.Contains(got, "term=xterm") {
			t.Errorf("tty output = %q, want a /dev/pts/N, size 40 100 and TERM=xterm", got)
		}
	})

	t.Run("tty resize and stdin", func(t *testing.T) {
		var out syncBuffer
		resize := make(chan Size, 1)
		stdinR, stdinW := io.Pipe()
		done := make(chan error, 1)
		var code int
		go func() {
			var err error
			code, err = e.runc.Exec(ctx, e.id, ExecOptions{
				Args: []string{"sh"}, Tty: true, Size: Size{Rows: 24, Cols: 80},
				Stdin: stdinR, Stdout: &out, Resize: resize,
			})
			done <- err
		}()
		stdinW.Write([]byte("echo mark-$((20+22))\n"))
		waitFor(t, func() bool { return strings.Contains(out.String(), "mark-42") })
		resize <- Size{Rows: 50, Cols: 132}
		// The resize travels host pty -> SIGWINCH -> runc -> container pty,
		// so ask until the shell sees it.
		waitFor(t, func() bool {
			stdinW.Write([]byte("stty size\n"))
			return strings.Contains(out.String(), "50 132")
		})
		stdinW.Write([]byte("exit 7\n"))
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		stdinW.Close()
		if code != 7 {
			t.Errorf("exit code = %d, want 7", code)
		}
	})

	t.Run("cancel kills the process", func(t *testing.T) {
		cctx, ccancel := context.WithTimeout(ctx, 300*time.Millisecond)
		defer ccancel()
		start := time.Now()
		code, err := e.runc.Exec(cctx, e.id, ExecOptions{Args: []string{"sleep", "600"}})
		if err != nil {
			t.Fatal(err)
		}
		if code != 128+int(syscall.SIGKILL) || time.Since(start) > 20*time.Second {
			t.Errorf("exit code = %d after %v, want 137 soon after cancel", code, time.Since(start))
		}
	})

	// Cancelled before runc has even written the pid file (the CI run
	// under load hung here for 10 minutes): the process is killed all
	// the same once it exists.
	t.Run("cancel before the process exists", func(t *testing.T) {
		cctx, ccancel := context.WithCancel(ctx)
		ccancel()
		start := time.Now()
		code, err := e.runc.Exec(cctx, e.id, ExecOptions{Args: []string{"sleep", "600"}})
		if err != nil {
			t.Fatal(err)
		}
		if code != 128+int(syscall.SIGKILL) || time.Since(start) > 20*time.Second {
			t.Errorf("exit code = %d after %v, want 137 soon after cancel", code, time.Since(start))
		}
	})

	t.Run("errors", func(t *testing.T) {
		if _, err := e.runc.Exec(ctx, "no-such-container", ExecOptions{Args: []string{"true"}}); err == nil {
			t.Error("exec in a missing container succeeded")
		}
		if _, err := e.runc.Exec(ctx, e.id, ExecOptions{Args: []string{"true"}, User: "app"}); err == nil || !strings.Contains(err.Error(), "numeric") {
			t.Errorf("named user: err = %v", err)
		}
		_, err := e.runc.Exec(ctx, e.id, ExecOptions{Args: []string{"/no/such/tool"}})
		if err == nil || !strings.Contains(err.Error(), "/no/such/tool") {
			t.Errorf("missing binary: err = %v, want it named", err)
		}
	})
}
