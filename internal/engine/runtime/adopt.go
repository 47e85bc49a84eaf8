package runtime

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// ShimState is what a container directory says about its supervisor and
// container, checked against the live process table.
type ShimState struct {
	ShimPid   int
	ShimAlive bool // the recorded supervisor still runs (same start time)
	InitPid   int
	InitAlive bool // the container's init still runs (same start time)
	StartedAt time.Time
	Exit      *Exit // set once the container has ended and been cleaned up
}

// Adopt reads a container directory's records so a restarted daemon can
// take the container back: a live shim keeps supervising and will write
// exit.json; a dead shim with a live init means the container runs
// unsupervised (the caller should kill and delete it); Exit set means it
// is over. Pids are compared with their recorded start times, so a reused
// pid is never mistaken for the container.
func Adopt(dir string) (ShimState, error) {
	var st ShimState
	var shim procRecord
	switch err := readJSON(filepath.Join(dir, ShimFile), &shim); {
	case err == nil:
		st.ShimPid, st.ShimAlive = shim.Pid, shim.alive()
	case errors.Is(err, os.ErrNotExist):
	default:
		return st, err
	}
	var init initRecord
	switch err := readJSON(filepath.Join(dir, InitFile), &init); {
	case err == nil:
		st.InitPid, st.InitAlive, st.StartedAt = init.Pid, init.alive(), init.StartedAt
	case errors.Is(err, os.ErrNotExist):
	default:
		return st, err
	}
	var exit Exit
	switch err := readJSON(filepath.Join(dir, ExitFile), &exit); {
	case err == nil:
		st.Exit = &exit
	case errors.Is(err, os.ErrNotExist):
	default:
		return st, err
	}
	if st.ShimPid == 0 && st.Exit == nil {
		return st, fmt.Errorf("%s: no supervisor was started here: %w", dir, os.ErrNotExist)
	}
	return st, nil
}

// ErrShimLost means the supervisor died without recording the exit.
var ErrShimLost = errors.New("supervisor exited without recording the container's exit")

// WaitExit blocks until the supervisor in dir has recorded the container's
// exit and returns it. It waits on a pidfd of the supervisor, so it works
// for supervisors started by an earlier daemon too (not only children).
func WaitExit(ctx context.Context, dir string) (Exit, error) {
	for {
		st, err := Adopt(dir)
		if err != nil {
			return Exit{}, err
		}
		if st.Exit != nil {
			return *st.Exit, nil
		}
		if !st.ShimAlive {
			// It may have written exit.json between the two reads.
			if st, err = Adopt(dir); err == nil && st.Exit != nil {
				return *st.Exit, nil
			}
			return Exit{}, fmt.Errorf("%s: %w", dir, ErrShimLost)
		}
		if err := waitProcess(ctx, st.ShimPid); err != nil {
			return Exit{}, err
		}
	}
}
