package runtime

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// waitProcess returns when pid exits (or ctx ends). Pid reuse between the
// liveness check and pidfd_open only makes the caller look again.
//
// The daemon waits so on every container's supervisor at once. The pidfd
// goes to Go's network poller (epoll: it becomes readable when the
// process exits), so a wait holds no thread and costs nothing until the
// exit. A wait blocking in poll(2) with a timeout held a thread each and
// woke ten times a second: with 50 containers, 500 system calls a second
// and the runtime's monitor spinning to take their processors back, most
// of an idle daemon's CPU.
func waitProcess(ctx context.Context, pid int) error {
	fd, err := unix.PidfdOpen(pid, unix.PIDFD_NONBLOCK)
	if errors.Is(err, unix.ESRCH) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("pidfd_open %d: %w", pid, err)
	}
	f := os.NewFile(uintptr(fd), fmt.Sprintf("pidfd %d", pid))
	defer f.Close()
	exited := func() (bool, error) {
		for {
			n, err := unix.Poll([]unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}, 0)
			if errors.Is(err, unix.EINTR) {
				continue
			}
			if err != nil {
				return false, fmt.Errorf("poll pidfd %d: %w", pid, err)
			}
			return n > 0, nil
		}
	}
	if f.SetReadDeadline(time.Time{}) != nil { // not in the poller: poll(2) it
		return pollExit(ctx, exited)
	}
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	stop := context.AfterFunc(ctx, func() { _ = f.SetReadDeadline(time.Now()) })
	defer stop()
	var perr error
	err = rc.Read(func(uintptr) bool { // false: wait until readable
		done, err := exited()
		perr = err
		return done || err != nil
	})
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if err == nil {
		err = perr
	}
	return err
}

// pollExit checks exited every 100 ms until it says so or ctx ends.
func pollExit(ctx context.Context, exited func() (bool, error)) error {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		done, err := exited()
		if done || err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}
