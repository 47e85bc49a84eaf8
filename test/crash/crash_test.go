// Package crash kills berth's registry with SIGKILL at random moments while
// clients push, and checks that every push the server acknowledged survives.
package crash

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

var berthBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "berth-crash-")
	if err != nil {
		panic(err)
	}
	berthBin = filepath.Join(dir, "berth")
	build := exec.Command("go", "build", "-o", berthBin, "../../cmd/berth")
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building berth:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// server is one berth registry process.
type server struct {
	cmd  *exec.Cmd
	done chan struct{}
}

func start(t *testing.T, addr, root string) *server {
	t.Helper()
	cmd := exec.Command(berthBin, "registry", "serve", "--addr", addr, "--root", root)
	logf, err := os.OpenFile(filepath.Join(filepath.Dir(root), "server.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &server{cmd: cmd, done: make(chan struct{})}
	go func() { cmd.Wait(); logf.Close(); close(s.done) }()
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/v2/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return s
			}
		}
		select {
		case <-s.done:
			t.Fatalf("registry exited during start-up; see %s", filepath.Join(filepath.Dir(root), "server.log"))
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("registry did not answer within 15s")
		}
		time.Sleep(20 * time.Millisecond) // polling interval
	}
}

func (s *server) kill() {
	s.cmd.Process.Signal(syscall.SIGKILL)
	<-s.done
}

type acked struct {
	ref    string
	digest v1.Hash
}

func TestKill9WhilePushing(t *testing.T) {
	const clients, images, minKills = 8, 50, 5
	tmp := t.TempDir()
	root := filepath.Join(tmp, "root")
	addr := freeAddr(t)
	srv := start(t, addr, root)
	var srvMu sync.Mutex
	// Whatever happens (t.Fatal included), no server outlives the test.
	t.Cleanup(func() {
		srvMu.Lock()
		defer srvMu.Unlock()
		select {
		case <-srv.done:
		default:
			srv.kill()
		}
	})

	// Clients push until 50 images are acknowledged and the server was
	// killed at least minKills times; a push that fails
	// because the server died is simply tried again with a new image.
	var mu sync.Mutex
	var ok []acked
	var next atomic.Int64
	var kills atomic.Int64
	var failures atomic.Int64
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			for ctx.Err() == nil {
				i := next.Add(1)
				mu.Lock()
				n := len(ok)
				mu.Unlock()
				if n >= images && kills.Load() >= minKills {
					return
				}
				img, err := random.Image(int64(16<<10+rand.IntN(256<<10)), 1+int64(rand.IntN(3)))
				if err != nil {
					t.Error(err)
					return
				}
				ref := fmt.Sprintf("%s/crash/c%d:img%d", addr, c, i)
				r, _ := name.ParseReference(ref, name.Insecure)
				// No retries inside the client: an error means this push
				// was not acknowledged, and that is what we want to know.
				err = remote.Write(r, img, remote.WithRetryBackoff(remote.Backoff{Steps: 1}), remote.WithContext(ctx))
				if err != nil {
					failures.Add(1)
					continue
				}
				d, _ := img.Digest()
				mu.Lock()
				ok = append(ok, acked{ref, d})
				mu.Unlock()
			}
		}(c)
	}

	// The killer: SIGKILL at random moments, restart at once.
	killerDone := make(chan struct{})
	go func() {
		defer close(killerDone)
		for ctx.Err() == nil {
			select {
			case <-time.After(time.Duration(100+rand.IntN(400)) * time.Millisecond):
			case <-ctx.Done():
				return
			}
			srvMu.Lock()
			srv.kill()
			kills.Add(1)
			srv = start(t, addr, root)
			srvMu.Unlock()
		}
	}()
	finished := make(chan struct{})
	go func() { wg.Wait(); close(finished) }()
	select {
	case <-finished:
	case <-time.After(5 * time.Minute):
		t.Fatal("pushes did not finish in 5 minutes")
	}
	cancel()
	<-killerDone
	if kills.Load() < minKills {
		t.Fatalf("only %d kills happened during the pushes", kills.Load())
	}

	// A last kill, then every acknowledged manifest must pull back whole.
	srvMu.Lock()
	srv.kill()
	srv = start(t, addr, root)
	srvMu.Unlock()
	t.Logf("%d images acknowledged, %d pushes failed, %d kills", len(ok), failures.Load(), kills.Load())
	verifyAll(t, ok)

	// GC (offline, grace 0) leaves no temp files or upload sessions and
	// keeps every acknowledged image.
	srv.cmd.Process.Signal(syscall.SIGTERM)
	<-srv.done
	out, err := exec.Command(berthBin, "registry", "gc", "--root", root, "--grace", "0s").CombinedOutput()
	if err != nil {
		t.Fatalf("gc: %v\n%s", err, out)
	}
	t.Logf("gc: %s", strings.TrimSpace(string(out)))
	var leftovers []string
	filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return nil
		}
		if strings.HasSuffix(p, ".tmp") || strings.Contains(fi.Name(), ".state-") {
			leftovers = append(leftovers, p)
		}
		return nil
	})
	entries, _ := os.ReadDir(filepath.Join(root, "uploads"))
	for _, e := range entries {
		leftovers = append(leftovers, filepath.Join(root, "uploads", e.Name()))
	}
	if len(leftovers) > 0 {
		t.Errorf("temp files left after GC: %v", leftovers)
	}
	srvMu.Lock()
	srv = start(t, addr, root)
	srvMu.Unlock()
	verifyAll(t, ok)
}

func verifyAll(t *testing.T, ok []acked) {
	t.Helper()
	for _, a := range ok {
		if err := verifyPull(a.ref, a.digest); err != nil {
			t.Errorf("acknowledged push lost or damaged: %v", err)
		}
	}
}

func verifyPull(ref string, want v1.Hash) error {
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		return err
	}
	img, err := remote.Image(r)
	if err != nil {
		return fmt.Errorf("%s: %w", ref, err)
	}
	if d, _ := img.Digest(); d != want {
		return fmt.Errorf("%s: digest %s, want %s", ref, d, want)
	}
	if _, err := img.RawConfigFile(); err != nil {
		return fmt.Errorf("%s: config: %w", ref, err)
	}
	layers, err := img.Layers()
	if err != nil {
		return err
	}
	for _, l := range layers {
		rc, err := l.Compressed()
		if err != nil {
			return fmt.Errorf("%s: %w", ref, err)
		}
		_, err = io.Copy(io.Discard, rc) // verifies the digest while reading
		rc.Close()
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("%s: layer: %w", ref, err)
		}
	}
	return nil
}
