package store

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// crashImage has layers big enough (many files) that a kill lands mid-unpack.
func crashImage(t *testing.T) v1.Image {
	var layers []v1.Layer
	for l := 0; l < 3; l++ {
		var buf bytes.Buffer
		tw := tar.NewWriter(&buf)
		for i := 0; i < 15000; i++ {
			body := fmt.Sprintf("layer %d file %d", l, i)
			tw.WriteHeader(&tar.Header{Name: fmt.Sprintf("l%d/d%03d/f%05d", l, i/100, i), Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg})
			tw.Write([]byte(body))
		}
		tw.Close()
		layers = append(layers, static.NewLayer(buf.Bytes(), types.OCIUncompressedLayer))
	}
	return imageOf(t, layers...)
}

// TestCrashHelper is the child process of TestKillDuringPrepare.
func TestCrashHelper(t *testing.T) {
	root := os.Getenv("BERTH_STORE_CRASH_ROOT")
	if root == "" {
		t.Skip("only run as TestKillDuringPrepare's child")
	}
	s, err := Open(root)
	if err != nil {
		t.Fatal(err)
	}
	img, err := s.Get("example.com/crash:v1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Prepare(context.Background(), img); err != nil {
		t.Fatal(err)
	}
}

func TestKillDuringPrepare(t *testing.T) {
	needRoot(t)
	ctx := context.Background()
	root := t.TempDir()
	s, err := Open(root)
	if err != nil {
		t.Fatal(err)
	}
	img, err := s.Import(ctx, "example.com/crash:v1", crashImage(t))
	if err != nil {
		t.Fatal(err)
	}
	s.Close()

	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashHelper$", "-test.count=1")
	cmd.Env = append(os.Environ(), "BERTH_STORE_CRASH_ROOT="+root)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Kill as soon as an unpack is under way.
	snaps := filepath.Join(root, "snapshots")
	deadline := time.Now().Add(30 * time.Second)
	killed := false
	for !killed && time.Now().Before(deadline) {
		ents, _ := os.ReadDir(snaps)
		for _, e := range ents {
			if strings.Contains(e.Name(), tmpMarker) {
				cmd.Process.Signal(syscall.SIGKILL)
				killed = true
				break
			}
		}
	}
	cmd.Wait()
	if !killed {
		t.Fatal("no unpack seen in 30s")
	}

	s, err = Open(root)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ents, _ := os.ReadDir(snaps)
	var complete []string
	for _, e := range ents {
		if strings.Contains(e.Name(), tmpMarker) {
			t.Errorf("Open left %s", e.Name())
		}
		complete = append(complete, e.Name())
	}
	t.Logf("complete snapshots after the kill: %d of 3", len(complete))
	// Every surviving snapshot is whole, and Prepare finishes the rest.
	lowers, err := s.Prepare(ctx, img)
	if err != nil {
		t.Fatal(err)
	}
	for i, dir := range lowers {
		l := len(lowers) - 1 - i
		n := 0
		filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
			if err == nil && d.Type().IsRegular() {
				n++
			}
			return nil
		})
		if n != 15000 {
			t.Errorf("layer %d snapshot holds %d files, want 15000", l, n)
		}
	}
}
