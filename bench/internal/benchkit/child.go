//go:build linux

package benchkit

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// Child is a long-running helper process of a benchmark (a daemon, a
// server) whose output goes to a log file.
type Child struct {
	Name    string
	Cmd     *exec.Cmd
	LogPath string
	exited  chan struct{}
	waitErr error
}

// StartChild starts cmd with its stdout and stderr in logPath. Unless the
// caller set SysProcAttr, the child gets SIGTERM, not SIGKILL, if the driver
// dies: the daemons clean up on SIGTERM (dockerd stops its containerd).
func StartChild(name, logPath string, cmd *exec.Cmd) (*Child, error) {
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("create %s log: %w", name, err)
	}
	defer logFile.Close() // the child keeps its own descriptor
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s (%s): %w", name, cmd.Path, err)
	}
	c := &Child{Name: name, Cmd: cmd, LogPath: logPath, exited: make(chan struct{})}
	go func() {
		c.waitErr = cmd.Wait()
		close(c.exited)
	}()
	return c, nil
}

// WaitReady polls ok until it returns nil, the child exits or timeout passes.
func (c *Child) WaitReady(ctx context.Context, timeout time.Duration, ok func() error) error {
	deadline := time.Now().Add(timeout)
	var lastErr error
	for time.Now().Before(deadline) {
		select {
		case <-c.exited:
			return fmt.Errorf("%s exited before it was ready (%v); log:\n%s", c.Name, c.waitErr, c.LogTail())
		case <-ctx.Done():
			return ctx.Err()
		default:
		}
		if lastErr = ok(); lastErr == nil {
			return nil
		}
		time.Sleep(50 * time.Millisecond) // polling a child's socket or port; there is no event to wait on
	}
	return fmt.Errorf("%s not ready after %s (last: %v); log:\n%s", c.Name, timeout, lastErr, c.LogTail())
}

// Exited is closed when the child has exited.
func (c *Child) Exited() <-chan struct{} { return c.exited }

// WaitErr is how the child exited (nil: status 0); read it once Exited is
// closed.
func (c *Child) WaitErr() error { return c.waitErr }

// Stop sends SIGTERM, then SIGKILL after grace. Safe to call more than once.
func (c *Child) Stop(grace time.Duration) {
	select {
	case <-c.exited:
		return
	default:
	}
	_ = c.Cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.exited:
	case <-time.After(grace):
		_ = c.Cmd.Process.Kill()
		<-c.exited
	}
}

// Pid is the child's process id.
func (c *Child) Pid() int { return c.Cmd.Process.Pid }

// LogTail is the end of the child's log, for error messages.
func (c *Child) LogTail() string {
	b, err := os.ReadFile(c.LogPath)
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	if t := Tail(b, 4000); len(t) > 0 {
		return string(t)
	}
	return "(empty log)"
}

// Tail is the last n bytes of b, trimmed: enough of a command's output to
// explain its failure.
func Tail(b []byte, n int) []byte {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return bytes.TrimSpace(b)
}
