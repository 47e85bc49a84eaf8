package proxyd

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestListen(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	path := filepath.Join(dir, "proxy.sock")

	// A stale socket file (its listener gone) is replaced.
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	stale, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	stale.SetUnlinkOnClose(false)
	stale.Close()

	l, err := Listen(path)
	if err != nil {
		t.Fatalf("Listen over a stale socket: %v", err)
	}
	defer l.Close()
	fi, err := os.Stat(path)
	if err != nil || fi.Mode()&os.ModeSocket == 0 || fi.Mode().Perm() != 0o600 {
		t.Fatalf("socket %v: mode %v, want a socket with 0600", err, fi.Mode())
	}
	go func() {
		if c, err := l.Accept(); err == nil {
			c.Close()
		}
	}()
	if c, err := net.Dial("unix", path); err != nil {
		t.Fatalf("dial the new socket: %v", err)
	} else {
		c.Close()
	}

	// A live one is not taken over.
	if _, err := Listen(path); err == nil || !strings.Contains(err.Error(), "another berth proxy") {
		t.Errorf("Listen over a live socket: %v", err)
	}
	if _, err := Listen(""); err == nil {
		t.Error("Listen(\"\") succeeded")
	}
}

func TestListenCreatesPrivateDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "new")
	l, err := Listen(filepath.Join(dir, "proxy.sock"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	fi, err := os.Stat(dir)
	if err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("dir %v mode %v, want 0700", err, fi.Mode().Perm())
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("dir holds %d entries, want only the socket (no temp name left)", len(entries))
	}
}
