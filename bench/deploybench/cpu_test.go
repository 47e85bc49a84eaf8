//go:build linux

package main

import (
	"os"
	"os/exec"
	"slices"
	"testing"
	"time"
)

func TestStatTicks(t *testing.T) {
	// Fields after the name: state ppid pgrp session tty tpgid flags minflt
	// cminflt majflt cmajflt utime stime ...
	line := "1234 (nginx: worker) S 1 1 1 0 -1 4194560 10 0 0 0 250 50 0 0 20 0 1 0"
	if got, ok := statTicks(line); !ok || got != 300 {
		t.Errorf("statTicks = %d, %v; want 300", got, ok)
	}
	if _, ok := statTicks("garbage"); ok {
		t.Error("statTicks accepted a line without a command name")
	}
}

func TestProcessTreeAndCPU(t *testing.T) {
	cmd := exec.Command("sh", "-c", "sleep 30 & wait")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	// The shell forks its sleep after starting; poll until the child shows.
	var tree []int
	for range 200 {
		if tree = processTree(cmd.Process.Pid); len(tree) >= 2 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if len(tree) < 2 || tree[0] != cmd.Process.Pid {
		t.Fatalf("processTree(%d) = %v, want the shell and its sleep", cmd.Process.Pid, tree)
	}
	if slices.Contains(tree, os.Getpid()) {
		t.Error("the tree contains the test itself")
	}
	// Burn CPU until the kernel has charged a tick to the test (deadline 5 s).
	x, deadline := 0, time.Now().Add(5*time.Second)
	for cpuSeconds([]int{os.Getpid()}) == 0 && time.Now().Before(deadline) {
		for i := range 1_000_000 {
			x ^= i
		}
	}
	if s := cpuSeconds([]int{os.Getpid()}); s <= 0 {
		t.Errorf("cpuSeconds(self) = %g after burning CPU (%d)", s, x)
	}
	if s := cpuSeconds([]int{1 << 30}); s != 0 {
		t.Errorf("cpuSeconds(no such pid) = %g", s)
	}
}
