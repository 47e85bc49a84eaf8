package runtime

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

func startSleep(t *testing.T) *exec.Cmd {
	t.Helper()
	cmd := exec.Command("sleep", "60")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return cmd
}

func TestWaitProcessReturnsWhenItExits(t *testing.T) {
	cmd := startSleep(t)
	done := make(chan error, 1)
	go func() { done <- waitProcess(context.Background(), cmd.Process.Pid) }()
	select {
	case err := <-done:
		t.Fatalf("returned while the process runs: %v", err)
	default:
	}
	_ = cmd.Process.Kill()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no return after the process was killed")
	}
	// A process already gone: at once.
	_ = cmd.Wait()
	if err := waitProcess(context.Background(), cmd.Process.Pid); err != nil {
		t.Errorf("reaped process: %v", err)
	}
}

func TestWaitProcessEndsWithItsContext(t *testing.T) {
	cmd := startSleep(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- waitProcess(ctx, cmd.Process.Pid) }()
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no return after the context ended")
	}
}

func threads(t *testing.T) int {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "Threads:"); ok {
			n, _ := strconv.Atoi(strings.TrimSpace(v))
			return n
		}
	}
	t.Fatal("no Threads: in /proc/self/status")
	return 0
}

// Waits hold no thread (the daemon waits on every container's supervisor
// at once): 64 waits on a running process do not make 64 threads. A wait
// blocking in poll(2) held one each.
func TestWaitProcessHoldsNoThread(t *testing.T) {
	cmd := startSleep(t)
	before := threads(t)
	ctx, cancel := context.WithCancel(context.Background())
	const waits = 64
	done := make(chan error, waits)
	for range waits {
		go func() { done <- waitProcess(ctx, cmd.Process.Pid) }()
	}
	// Watch the thread count for a second (blocking waits reach 64 in
	// well under that).
	most := before
	for end := time.Now().Add(time.Second); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		most = max(most, threads(t))
	}
	cancel()
	for range waits {
		<-done
	}
	if most-before >= waits/2 {
		t.Errorf("%d waits: threads went from %d to %d", waits, before, most)
	}
}
