//go:build linux

package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/berth-dev/berth/bench/internal/benchkit"
	"github.com/berth-dev/berth/internal/engine/api"
)

// The long-running daemons of the benchmark: berth's and a private dockerd.

// berthDaemon is `berth daemon` with its own root, run directory and socket.
type berthDaemon struct {
	*benchkit.Child
	root, runDir, socket string
	client               *api.Client
}

func startBerthDaemon(ctx context.Context, bin, dir string) (*berthDaemon, error) {
	d := &berthDaemon{root: filepath.Join(dir, "root"), runDir: filepath.Join(dir, "run"), socket: filepath.Join(dir, "berth.sock")}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	c, err := benchkit.StartChild("berth daemon", filepath.Join(dir, "daemon.log"),
		exec.Command(bin, "daemon", "--root", d.root, "--run-dir", d.runDir, "--socket", d.socket))
	if err != nil {
		return nil, err
	}
	d.Child = c
	d.client = api.NewClient(d.socket)
	err = c.WaitReady(ctx, 30*time.Second, func() error {
		_, err := d.client.Ping(ctx, time.Second)
		return err
	})
	if err != nil {
		c.Stop(10 * time.Second)
		return nil, err
	}
	return d, nil
}

// dockerDaemon is benchkit's private dockerd.
type dockerDaemon = benchkit.Dockerd

func tail(b []byte, n int) []byte { return benchkit.Tail(b, n) }
