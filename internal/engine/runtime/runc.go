package runtime

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
)

// DefaultRuncRoot keeps berth's runc state apart from other runc users
// (Docker, containerd) on the same host.
const DefaultRuncRoot = "/run/berth/runc"

// ErrNotFound is returned when runc does not know the container.
var ErrNotFound = errors.New("container not found")

// Runc drives the runc binary. The zero value uses "runc" from PATH and
// DefaultRuncRoot.
type Runc struct {
	Binary string // path or name of runc (or a compatible runtime)
	Root   string // runc --root: where runc keeps container state
}

func (r Runc) binary() string {
	if r.Binary == "" {
		return "runc"
	}
	return r.Binary
}

func (r Runc) root() string {
	if r.Root == "" {
		return DefaultRuncRoot
	}
	return r.Root
}

// LookPath reports a clear error when the runtime binary is missing.
func (r Runc) LookPath() (string, error) {
	p, err := exec.LookPath(r.binary())
	if err != nil {
		return "", fmt.Errorf("container runtime %q not found (install runc): %w", r.binary(), err)
	}
	return p, nil
}

func (r Runc) command(ctx context.Context, args ...string) *exec.Cmd {
	return exec.CommandContext(ctx, r.binary(), append([]string{"--root", r.root()}, args...)...)
}

// run executes a short runc command and turns its stderr into the error.
func (r Runc) run(ctx context.Context, args ...string) ([]byte, error) {
	cmd := r.command(ctx, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if strings.Contains(msg, "does not exist") || strings.Contains(msg, "container not found") {
			return nil, fmt.Errorf("runc %s: %w: %s", args[0], ErrNotFound, msg)
		}
		if msg == "" {
			msg = err.Error()
		}
		return nil, fmt.Errorf("runc %s: %s", args[0], msg)
	}
	return stdout.Bytes(), nil
}

// Kill sends sig to the container's init process.
func (r Runc) Kill(id string, sig syscall.Signal) error {
	if err := ValidateID(id); err != nil {
		return err
	}
	_, err := r.run(context.Background(), "kill", id, strconv.Itoa(int(sig)))
	return err
}

// State returns runc's status of the container: "created", "running",
// "paused" or "stopped"; ErrNotFound when runc has no such container.
func (r Runc) State(id string) (string, error) {
	if err := ValidateID(id); err != nil {
		return "", err
	}
	out, err := r.run(context.Background(), "state", id)
	if err != nil {
		return "", err
	}
	var st struct {
		Status string `json:"status"`
	}
	if err := json.Unmarshal(out, &st); err != nil {
		return "", fmt.Errorf("runc state %s: %w", id, err)
	}
	return st.Status, nil
}

// Delete forcibly removes the container (killing it if needed) with its
// cgroups and runc state; deleting an unknown container is not an error,
// so cleanup can be repeated after a crash.
func (r Runc) Delete(id string) error {
	if err := ValidateID(id); err != nil {
		return err
	}
	_, err := r.run(context.Background(), "delete", "--force", id)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	return err
}

// bgContext is for runc invocations that must finish regardless of any
// caller's cancellation (create, start and delete in the supervisor).
func bgContext() context.Context { return context.Background() }
