//go:build linux

package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/berth-dev/berth/bench/internal/benchkit"
	"github.com/berth-dev/berth/internal/engine"
	"github.com/berth-dev/berth/internal/engine/api"
)

// The stack the console shows: busybox-static alone, built with berth
// build from a rootfs directory, -services services of one replica each.

const (
	imageName   = "bb"
	stackName   = "cb"
	consoleUser = "ops"
	logLines    = 200 // each service prints these at start: the logs view has 100 to show
)

// busyboxApplets are the commands the containers use.
var busyboxApplets = []string{"sh", "sleep", "echo", "seq"}

// buildImage builds the image into an OCI layout and returns berth's
// reference to it.
func buildImage(ctx context.Context, berthBin, dir, busybox string) (string, error) {
	ctxDir := filepath.Join(dir, "image")
	rootfs := filepath.Join(ctxDir, "rootfs")
	for _, d := range []string{"bin", "tmp", "etc"} {
		if err := os.MkdirAll(filepath.Join(rootfs, d), 0o755); err != nil {
			return "", err
		}
	}
	if err := benchkit.CopyFile(busybox, filepath.Join(rootfs, "bin", "busybox"), 0o755); err != nil {
		return "", fmt.Errorf("busybox-static (apt-get install busybox-static): %w", err)
	}
	for _, a := range busyboxApplets {
		if err := os.Symlink("busybox", filepath.Join(rootfs, "bin", a)); err != nil {
			return "", err
		}
	}
	yaml := fmt.Sprintf("images:\n  %s:\n    from: scratch\n    layers:\n      - name: rootfs\n        tar: {src: rootfs}\n    config:\n      cmd: [/bin/sh]\n", imageName)
	file := filepath.Join(ctxDir, "berth.yaml")
	if err := os.WriteFile(file, []byte(yaml), 0o644); err != nil {
		return "", err
	}
	layout := filepath.Join(dir, "layout")
	if err := runCmd(ctx, ctxDir, []string{"BERTH_CACHE=" + filepath.Join(dir, "cache")}, berthBin, "build", "-f", file, imageName, "--oci-layout", layout); err != nil {
		return "", err
	}
	return "oci-layout:" + layout + ":" + imageName, nil
}

// stackYAML is the stack: services s01… each printing logLines lines,
// then sleeping.
func stackYAML(ref string, services int) string {
	var b strings.Builder
	b.WriteString("services:\n")
	for i := 1; i <= services; i++ {
		name := serviceName(i)
		fmt.Fprintf(&b, `  %s:
    image: %s
    entrypoint: ["/bin/sh", "-c", "for i in $$(seq 1 %d); do echo %s line $$i; done; exec sleep 36000"]
    stop_signal: SIGKILL
`, name, ref, logLines, name)
	}
	return b.String()
}

func serviceName(i int) string { return fmt.Sprintf("s%02d", i) }

// daemon is `berth daemon` with the console, its own root, run directory
// and socket.
type daemon struct {
	*benchkit.Child
	bin, socket, console string
	client               *api.Client
}

// writeUsers writes the console's htpasswd file (bcrypt, as htpasswd -B).
func writeUsers(path, password string) error {
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.DefaultCost)
	if err != nil {
		return err
	}
	return os.WriteFile(path, []byte(consoleUser+":"+string(hash)+"\n"), 0o600)
}

func startDaemon(ctx context.Context, bin, dir, users string) (*daemon, error) {
	addr, err := benchkit.FreeAddr()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	d := &daemon{bin: bin, socket: filepath.Join(dir, "berth.sock"), console: "http://" + addr}
	c, err := benchkit.StartChild("berth daemon", filepath.Join(dir, "daemon.log"),
		exec.Command(bin, "daemon", "--root", filepath.Join(dir, "root"), "--run-dir", filepath.Join(dir, "run"), "--socket", d.socket,
			"--console", addr, "--console-users", users))
	if err != nil {
		return nil, err
	}
	d.Child = c
	d.client = api.NewClient(d.socket)
	err = c.WaitReady(ctx, 30*time.Second, func() error {
		if _, err := d.client.Ping(ctx, time.Second); err != nil {
			return err
		}
		return benchkit.GetOK(http.DefaultClient, d.console+"/login")
	})
	if err != nil {
		c.Stop(10 * time.Second)
		return nil, err
	}
	return d, nil
}

// up starts the stack with the CLI, as a user would, and waits until
// every service runs.
func (d *daemon) up(ctx context.Context, file string, services int) error {
	if err := runCmd(ctx, "", nil, d.bin, "up", "-f", file, "-p", stackName, "--socket", d.socket); err != nil {
		return err
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		cs, err := d.containers(ctx)
		if err != nil {
			return err
		}
		running := 0
		for _, c := range cs {
			if c.State == engine.StateRunning {
				running++
			}
		}
		if running == services {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("after `berth up`, %d of %d services run", running, services)
		}
		time.Sleep(200 * time.Millisecond) // polling the daemon's state; there is no event to wait on
	}
}

func (d *daemon) containers(ctx context.Context) ([]engine.Container, error) {
	var cs []engine.Container
	err := d.client.Do(ctx, http.MethodGet, "/containers", url.Values{"stack": {stackName}}, nil, &cs)
	return cs, err
}

// down takes the stack down with its volumes (berth down -v).
func (d *daemon) down(ctx context.Context) error {
	return runCmd(ctx, "", nil, d.bin, "down", "-p", stackName, "-v", "--socket", d.socket)
}

// runCmd runs a setup command and returns its error with its output.
func runCmd(ctx context.Context, dir string, env []string, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%s %s: %v\n%s", name, strings.Join(args, " "), err, benchkit.Tail(out, 3000))
	}
	return nil
}
