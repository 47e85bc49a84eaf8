package runtime

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// ExecOptions describes a process to run in a running container. It
// inherits the container's capabilities, seccomp profile,
// no-new-privileges, cgroup and environment (Env adds to it).
type ExecOptions struct {
	Args []string
	Env  []string // KEY=VALUE, added to the container's environment
	Cwd  string   // default: the container's working directory
	User string   // numeric "uid[:gid]"; default: the container's user
	Tty  bool
	Size Size // initial terminal size when Tty (0x0: runc's default)

	Stdin  io.Reader // nil: no input
	Stdout io.Writer // with Tty, receives the terminal's output
	Stderr io.Writer // unused with Tty (a terminal has one output)
	Resize <-chan Size
}

// Exec runs a process in the container and returns its exit code (128+N
// when killed by signal N). Cancelling ctx kills the process. A Stdin that
// blocks is not waited for after the process ends; closing it is the
// caller's business.
func (r Runc) Exec(ctx context.Context, id string, o ExecOptions) (int, error) {
	if err := ValidateID(id); err != nil {
		return -1, err
	}
	if len(o.Args) == 0 || o.Args[0] == "" {
		return -1, fmt.Errorf("exec in %s: no command", id)
	}
	if o.Cwd != "" && !strings.HasPrefix(o.Cwd, "/") {
		return -1, fmt.Errorf("exec in %s: working directory %q must be absolute", id, o.Cwd)
	}
	if o.User != "" {
		u, g, hasG := strings.Cut(o.User, ":")
		if _, err := parseID(u); err != nil {
			return -1, fmt.Errorf("exec in %s: user %q must be numeric uid[:gid]", id, o.User)
		}
		if _, err := parseID(g); hasG && err != nil {
			return -1, fmt.Errorf("exec in %s: user %q must be numeric uid[:gid]", id, o.User)
		}
	}
	for _, e := range o.Env {
		if k, _, ok := strings.Cut(e, "="); !ok || k == "" {
			return -1, fmt.Errorf("exec in %s: environment entry %q is not KEY=VALUE", id, e)
		}
	}

	tmp, err := os.MkdirTemp("", "berth-exec-")
	if err != nil {
		return -1, err
	}
	defer os.RemoveAll(tmp)
	pidFile := filepath.Join(tmp, "pid")
	logFile := filepath.Join(tmp, "runc.log")

	args := []string{"--log", logFile, "--log-format", "json", "exec", "--pid-file", pidFile}
	if o.Tty {
		args = append(args, "--tty")
	}
	if o.Cwd != "" {
		args = append(args, "--cwd", o.Cwd)
	}
	if o.User != "" {
		args = append(args, "--user", o.User)
	}
	env := slices.Clone(o.Env)
	if o.Tty && !slices.ContainsFunc(env, func(e string) bool { return strings.HasPrefix(e, "TERM=") }) {
		env = append(env, "TERM=xterm") // what docker exec -t sets
	}
	for _, e := range env {
		args = append(args, "--env", e)
	}
	args = append(args, id)
	args = append(args, o.Args...)
	// Not CommandContext: killing runc would orphan the process; on
	// cancellation the process itself is killed and runc reports it.
	cmd := r.command(context.Background(), args...)

	var run func() error
	if o.Tty {
		run, err = execTTY(cmd, o)
	} else {
		run, err = execPipes(cmd, o)
	}
	if err != nil {
		return -1, fmt.Errorf("exec in %s: %w", id, err)
	}

	finished := make(chan struct{})
	stop := context.AfterFunc(ctx, func() { killUntilDone(pidFile, finished) })
	werr := run()
	close(finished)
	stop()

	var ee *exec.ExitError
	switch {
	case werr == nil:
		return 0, nil
	case errors.As(werr, &ee):
		code := ee.ExitCode()
		// runc itself failing (container not running, binary missing)
		// also exits non-zero; its log tells the two apart.
		if msg := runcError(logFile, nil); msg != "" {
			return -1, fmt.Errorf("exec in %s: %s", id, msg)
		}
		if code < 0 {
			code = 128 + int(ee.Sys().(syscall.WaitStatus).Signal())
		}
		return code, nil
	default:
		return -1, fmt.Errorf("exec in %s: %w", id, werr)
	}
}

// killUntilDone kills the exec'd process once runc has written its pid
// file. Cancellation can come before that (runc still starting, a loaded
// host), so it keeps looking until the process is killed or runc returns.
func killUntilDone(pidFile string, finished <-chan struct{}) {
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !killPidFile(pidFile) {
		select {
		case <-finished:
			return
		case <-tick.C:
		}
	}
}

func killPidFile(pidFile string) bool {
	b, err := os.ReadFile(pidFile)
	if err != nil {
		return false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return false // runc writes the file whole, but be strict
	}
	syscall.Kill(pid, syscall.SIGKILL)
	return true
}

// execPipes wires plain pipes. Stdin goes through a pipe of our own so
// that a blocking reader never holds up the return.
func execPipes(cmd *exec.Cmd, o ExecOptions) (func() error, error) {
	cmd.Stdout, cmd.Stderr = o.Stdout, o.Stderr
	var stdinW *os.File
	if o.Stdin != nil {
		r, w, err := os.Pipe()
		if err != nil {
			return nil, err
		}
		cmd.Stdin, stdinW = r, w
		defer r.Close()
	}
	if err := cmd.Start(); err != nil {
		if stdinW != nil {
			stdinW.Close()
		}
		return nil, err
	}
	if stdinW != nil {
		go func() {
			io.Copy(stdinW, o.Stdin)
			stdinW.Close() // EOF for the process
		}()
	}
	return func() error {
		err := cmd.Wait()
		if stdinW != nil {
			stdinW.Close() // unblocks a copier still writing
		}
		return err
	}, nil
}

// execTTY gives runc a pseudo-terminal of ours as its controlling
// terminal. In the foreground runc creates the container-side pty itself
// and relays it to that terminal in raw mode, forwarding size changes on
// SIGWINCH, which the kernel sends when we resize our pty.
func execTTY(cmd *exec.Cmd, o ExecOptions) (func() error, error) {
	master, slave, err := openPty()
	if err != nil {
		return nil, err
	}
	if o.Size.Rows > 0 && o.Size.Cols > 0 {
		if err := setWinsize(master, o.Size); err != nil {
			master.Close()
			slave.Close()
			return nil, fmt.Errorf("set terminal size: %w", err)
		}
	}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	err = cmd.Start()
	slave.Close() // runc holds the only copy now: EIO on master after it exits
	if err != nil {
		master.Close()
		return nil, err
	}

	var out sync.WaitGroup
	out.Add(1)
	go func() {
		defer out.Done()
		if o.Stdout != nil {
			io.Copy(o.Stdout, master) // ends with EIO once runc exits
		} else {
			io.Copy(io.Discard, master)
		}
	}()
	if o.Stdin != nil {
		go io.Copy(master, o.Stdin)
	}
	done := make(chan struct{})
	if o.Resize != nil {
		go func() {
			for {
				select {
				case s, ok := <-o.Resize:
					if !ok {
						return
					}
					if s.Rows > 0 && s.Cols > 0 {
						setWinsize(master, s)
					}
				case <-done:
					return
				}
			}
		}()
	}
	return func() error {
		err := cmd.Wait()
		close(done)
		out.Wait()
		master.Close()
		return err
	}, nil
}
