package proxyd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// EnsureOptions says where the proxy process listens and how to start it.
type EnsureOptions struct {
	Binary  string // the berth executable; default: this process's own
	Socket  string // required
	State   string // required
	Metrics string // optional --metrics address
	LogFile string // the process's stdout and stderr (appended); default: proxy.log next to State
	Env     []string
	// StartTimeout bounds the wait for a started proxy to answer; default 5 s.
	StartTimeout time.Duration
	// Holder, if set, keeps duplicates of the proxy's listening sockets:
	// a proxy Ensure starts inherits them, and it is brought up to date
	// with the proxy Ensure returns.
	Holder *Holder
}

// ensureMu serialises Ensure within the daemon, so two callers racing
// after a proxy crash start one process, not two.
var ensureMu sync.Mutex

// Ensure returns a client to the proxy answering on o.Socket, starting
// `Binary proxy --socket ... --state ...` first if none answers. The
// process is started detached (own session, stdio to LogFile): it is not
// killed with the daemon, and serves its saved config whether or not a
// daemon runs.
func Ensure(ctx context.Context, o EnsureOptions) (*Client, error) {
	if o.Socket == "" || o.State == "" {
		return nil, fmt.Errorf("proxy: socket %q and state %q are both required", o.Socket, o.State)
	}
	ensureMu.Lock()
	defer ensureMu.Unlock()

	c := NewClient(o.Socket)
	pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	err := c.Ping(pctx)
	cancel()
	if err == nil {
		if o.Holder != nil {
			_ = o.Holder.Refresh(ctx, c)
		}
		return c, nil
	}
	if !errors.Is(err, ErrNotRunning) {
		// Something holds the socket but does not answer in time (a hung
		// proxy?): starting another would only fail on the socket.
		return nil, fmt.Errorf("proxy on %s does not answer: %w", o.Socket, err)
	}

	c, _, err = start(ctx, o, false)
	return c, err
}

// start starts `Binary proxy ...` with the held sockets (takeover: with
// --takeover, replacing the API socket of a proxy still running) and
// waits until it answers on the socket.
func start(ctx context.Context, o EnsureOptions, takeover bool) (*Client, int, error) {
	c := NewClient(o.Socket)
	exe := o.Binary
	if exe == "" {
		var err error
		if exe, err = os.Executable(); err != nil {
			return nil, 0, fmt.Errorf("locate own executable for the proxy: %w", err)
		}
	}
	logPath := o.LogFile
	if logPath == "" {
		logPath = filepath.Join(filepath.Dir(o.State), "proxy.log")
	}
	if err := os.MkdirAll(filepath.Dir(logPath), 0o700); err != nil {
		return nil, 0, fmt.Errorf("proxy log: %w", err)
	}
	logf, err := os.OpenFile(logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, 0, fmt.Errorf("proxy log: %w", err)
	}
	defer logf.Close() // the child has its own copy
	// The log accumulates runs; remember where this one starts so an
	// error shows this run's words only.
	logStart, _ := logf.Seek(0, io.SeekEnd)

	args := []string{"proxy", "--socket", o.Socket, "--state", o.State}
	if o.Metrics != "" {
		args = append(args, "--metrics", o.Metrics)
	}
	if takeover {
		args = append(args, "--takeover")
	}
	cmd := exec.Command(exe, args...)
	cmd.Dir = "/"
	cmd.Env = append(os.Environ(), o.Env...)
	cmd.Stdout, cmd.Stderr = logf, logf // *os.File: handed over as is, no copying goroutine
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	holder := o.Holder
	if holder == nil {
		holder = &Holder{}
	}
	// The held sockets become the child's descriptors 3, 4, ...: the
	// connections queued on them meanwhile are the new process's first.
	if err := holder.with(func(addrs []string, files []*os.File) error {
		env, err := listenFDsEnv(addrs)
		if err != nil {
			return err
		}
		if env != "" {
			cmd.Env = append(cmd.Env, env)
			cmd.ExtraFiles = files
		}
		if err := cmd.Start(); err != nil {
			return fmt.Errorf("start %s proxy: %w", exe, err)
		}
		return nil
	}); err != nil {
		return nil, 0, err
	}
	pid := cmd.Process.Pid
	// Reap it whenever it exits so it never lingers as our zombie; once
	// this daemon is gone, init reaps it instead.
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()

	timeout := o.StartTimeout
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		pctx, cancel := context.WithTimeout(ctx, time.Second)
		h, err := c.Health(pctx)
		cancel()
		if err == nil && takeover && h.PID != pid {
			// The proxy being taken over still answers.
			err = fmt.Errorf("pid %d answers, not the started %d", h.PID, pid)
		}
		if err == nil {
			if o.Holder != nil {
				_ = o.Holder.Refresh(ctx, c)
			}
			return c, pid, nil
		}
		select {
		case werr := <-exited:
			return nil, 0, fmt.Errorf("proxy exited before answering on %s (%v)%s", o.Socket, werr, logTail(logPath, logStart))
		case <-deadline.C:
			cmd.Process.Kill()
			return nil, 0, fmt.Errorf("proxy did not answer on %s within %s (killed it): %v%s", o.Socket, timeout, err, logTail(logPath, logStart))
		case <-ctx.Done():
			cmd.Process.Kill()
			return nil, 0, fmt.Errorf("waiting for the proxy on %s: %w", o.Socket, ctx.Err())
		case <-tick.C:
		}
	}
}

// logTail returns the end of what was written to path after offset, as
// ": ..." for an error message, or "".
func logTail(path string, offset int64) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return ""
	}
	b, _ := io.ReadAll(f)
	s := strings.TrimSpace(string(b))
	if s == "" {
		return ""
	}
	if len(s) > 2000 {
		s = "..." + s[len(s)-2000:]
	}
	return ": " + s
}

// Stop asks the proxy on socket to exit and waits until it has: its ports
// are closed and the process is gone. No proxy running is not an error.
// The daemon calls it when no stack needs the proxy any more.
func Stop(ctx context.Context, socket string) error {
	c := NewClient(socket)
	h, err := c.Health(ctx)
	if errors.Is(err, ErrNotRunning) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := c.Shutdown(ctx); err != nil && !errors.Is(err, ErrNotRunning) {
		return err
	}
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		// The API answers until the proxy's listeners are closed; then the
		// process only has to exit.
		if err := c.Ping(ctx); errors.Is(err, ErrNotRunning) && !alive(h.PID) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for the proxy (pid %d) on %s to exit: %w", h.PID, socket, ctx.Err())
		case <-tick.C:
		}
	}
}

// alive reports whether pid is a running process (not a zombie: a proxy
// whose parent has not reaped it yet has exited all the same).
func alive(pid int) bool {
	if pid <= 0 {
		return false
	}
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return false
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// Field 3, after the parenthesised command name, is the state.
	s := string(b)
	if i := strings.LastIndexByte(s, ')'); i >= 0 && i+2 < len(s) {
		return s[i+2] != 'Z'
	}
	return true
}
