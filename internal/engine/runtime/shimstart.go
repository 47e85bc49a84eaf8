package runtime

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// ShimOptions says how to start a container's supervisor.
type ShimOptions struct {
	// Executable is the binary providing the shim command; default:
	// FindShim of this process's own executable. Args precede the shim
	// flags; default ["shim"] (i.e. "berth shim ...") when Executable is
	// set, FindShim's when it is not.
	Executable string
	Args       []string
	Env        []string // extra environment for the shim, KEY=VALUE

	Bundle      string // container directory holding config.json
	ID          string
	LogPath     string
	LogMaxSize  int64 // bytes; 0 never rotates
	LogMaxFiles int   // files kept including the current one; default 1
	Runtime     Runc
}

// StartShim starts the supervisor detached from the caller (own session
// and process group, stdio on /dev/null) so it survives the caller's death,
// and waits until it reports the container running (returning the
// container init's host pid) or failed (returning runc's error). Files
// from a previous run of the same bundle are cleared first; a supervisor
// still alive in the bundle is an error.
func StartShim(ctx context.Context, o ShimOptions) (int, error) {
	if err := ValidateID(o.ID); err != nil {
		return 0, err
	}
	if !filepath.IsAbs(o.Bundle) || !filepath.IsAbs(o.LogPath) {
		return 0, fmt.Errorf("container %s: bundle %q and log %q must be absolute paths", o.ID, o.Bundle, o.LogPath)
	}
	if _, err := os.Stat(filepath.Join(o.Bundle, ConfigFile)); err != nil {
		return 0, fmt.Errorf("container %s: bundle: %w", o.ID, err)
	}
	runcPath, err := o.Runtime.LookPath()
	if err != nil {
		return 0, err
	}
	if st, err := Adopt(o.Bundle); err == nil && st.ShimAlive {
		return 0, fmt.Errorf("container %s: a supervisor (pid %d) is already running in %s", o.ID, st.ShimPid, o.Bundle)
	}
	for _, f := range []string{ExitFile, InitFile, ShimFile} {
		if err := os.Remove(filepath.Join(o.Bundle, f)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return 0, fmt.Errorf("container %s: clear previous state: %w", o.ID, err)
		}
	}

	exe, args := o.Executable, o.Args
	if exe == "" {
		self, err := os.Executable()
		if err != nil {
			return 0, fmt.Errorf("locate own executable for the shim: %w", err)
		}
		exe, args = FindShim(self)
		if o.Args != nil {
			args = o.Args
		}
	}
	if args == nil {
		args = []string{"shim"}
	}
	maxFiles := o.LogMaxFiles
	if maxFiles < 1 {
		maxFiles = 1
	}
	args = append(append([]string(nil), args...),
		"--bundle", o.Bundle, "--id", o.ID, "--log", o.LogPath,
		"--log-max-size", strconv.FormatInt(o.LogMaxSize, 10), "--log-max-files", strconv.Itoa(maxFiles),
		"--runtime", runcPath, "--root", o.Runtime.root())

	statusR, statusW, err := os.Pipe()
	if err != nil {
		return 0, err
	}
	defer statusR.Close()
	cmd := exec.Command(exe, args...)
	cmd.Dir = "/"
	cmd.Env = append(append(os.Environ(), o.Env...), statusFDEnv+"=3")
	cmd.ExtraFiles = []*os.File{statusW} // fd 3
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		statusW.Close()
		return 0, fmt.Errorf("container %s: start shim: %w", o.ID, err)
	}
	statusW.Close()
	// Reap the shim whenever it exits so it never lingers as a zombie of
	// the daemon; after a daemon restart init reaps it instead.
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()

	type result struct {
		line string
		err  error
	}
	got := make(chan result, 1)
	go func() {
		line, err := bufio.NewReader(statusR).ReadString('\n')
		got <- result{line, err}
	}()
	var res result
	select {
	case res = <-got:
	case <-ctx.Done():
		cmd.Process.Kill()
		o.Runtime.Delete(o.ID)
		return 0, fmt.Errorf("container %s: waiting for the shim: %w", o.ID, ctx.Err())
	}
	if res.line == "" {
		// The status pipe closed without a word: the shim died early.
		werr := <-exited
		return 0, fmt.Errorf("container %s: shim exited before starting the container (%v)%s", o.ID, werr, shimLogTail(o.Bundle))
	}
	var rep shimReport
	if err := json.Unmarshal([]byte(res.line), &rep); err != nil {
		return 0, fmt.Errorf("container %s: bad shim report %q: %w", o.ID, strings.TrimSpace(res.line), err)
	}
	if rep.Error != "" {
		return 0, fmt.Errorf("container %s: %s", o.ID, rep.Error)
	}
	return rep.Pid, nil
}

// ShimBinary is the dedicated supervisor executable (cmd/berth-shim). It
// holds only the supervisor, so each running container costs a few MiB of
// memory and its start a short exec, where re-executing the whole berth
// binary as "berth shim" costs ~23 MiB RSS and ~15 ms per container.
const ShimBinary = "berth-shim"

// FindShim returns the command that starts a supervisor for a daemon
// running as berthExe: berth-shim from the same directory (an installation
// ships both, so they speak the same flags), else berth-shim on PATH, else
// berthExe itself as "berth shim".
func FindShim(berthExe string) (exe string, args []string) {
	if berthExe != "" {
		p := filepath.Join(filepath.Dir(berthExe), ShimBinary)
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
			return p, []string{}
		}
	}
	if p, err := exec.LookPath(ShimBinary); err == nil {
		if abs, err := filepath.Abs(p); err == nil {
			return abs, []string{}
		}
	}
	return berthExe, []string{"shim"}
}

func shimLogTail(bundle string) string {
	b, err := os.ReadFile(filepath.Join(bundle, ShimLogFile))
	if err != nil || len(b) == 0 {
		return ""
	}
	s := strings.TrimSpace(string(b))
	if len(s) > 2000 {
		s = s[len(s)-2000:]
	}
	return ": " + s
}
