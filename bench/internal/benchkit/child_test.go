//go:build linux

package benchkit

import (
	"context"
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestChildReadyAndStop(t *testing.T) {
	dir := t.TempDir()
	c, err := StartChild("sleeper", filepath.Join(dir, "log"), exec.Command("sh", "-c", "echo started; exec sleep 60"))
	if err != nil {
		t.Fatal(err)
	}
	polls := 0
	err = c.WaitReady(context.Background(), 10*time.Second, func() error {
		if polls++; polls < 3 {
			return errors.New("not yet")
		}
		return nil
	})
	if err != nil || polls != 3 {
		t.Fatalf("WaitReady = %v after %d polls, want nil after 3", err, polls)
	}
	c.Stop(5 * time.Second)
	select {
	case <-c.Exited():
	default:
		t.Fatal("child still running after Stop")
	}
	c.Stop(time.Second) // a second Stop is harmless
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(c.LogTail(), "started") && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if got := c.LogTail(); got != "started" {
		t.Errorf("LogTail = %q, want %q", got, "started")
	}
}

func TestChildExitsBeforeReady(t *testing.T) {
	c, err := StartChild("quitter", filepath.Join(t.TempDir(), "log"), exec.Command("sh", "-c", "echo bad config; exit 3"))
	if err != nil {
		t.Fatal(err)
	}
	err = c.WaitReady(context.Background(), 10*time.Second, func() error { return errors.New("no socket") })
	if err == nil || !strings.Contains(err.Error(), "quitter exited before it was ready") || !strings.Contains(err.Error(), "bad config") {
		t.Fatalf("WaitReady = %v, want the exit and the log", err)
	}
}

func TestTail(t *testing.T) {
	if got := string(Tail([]byte("  abcdef \n"), 4)); got != "ef" {
		t.Errorf("Tail = %q, want %q", got, "ef")
	}
	if got := string(Tail([]byte("ab"), 10)); got != "ab" {
		t.Errorf("Tail = %q, want %q", got, "ab")
	}
}
