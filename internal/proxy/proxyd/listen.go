package proxyd

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"time"
)

// Listen creates the API's unix socket at path, mode 0600 (the API
// reconfigures host ports, so only root may use it), creating its directory
// with mode 0700 if missing. A socket file left by a proxy that was killed
// is replaced; a live proxy answering on it is an error, so two proxies
// never fight over the same ports.
func Listen(path string) (*net.UnixListener, error) {
	if path == "" {
		return nil, errors.New("proxy socket: path is empty")
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("proxy socket: %w", err)
	}
	if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
		c.Close()
		return nil, fmt.Errorf("proxy socket %s: another berth proxy is listening on it", path)
	}
	return bindRename(path)
}

// takeOver is Listen for a proxy replacing a running one (Upgrade): the
// socket's name moves to the new process in one rename, so every API
// call reaches one proxy or the other; the old one keeps its connections.
func takeOver(path string) (*net.UnixListener, error) {
	if path == "" {
		return nil, errors.New("proxy socket: path is empty")
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("proxy socket: %w", err)
	}
	return bindRename(path)
}

func bindRename(path string) (*net.UnixListener, error) {
	// Bind under a temporary name, restrict it, then rename it into place:
	// the socket never exists at path with looser permissions, not even
	// for a moment, and whatever stale file was there is replaced in one
	// step.
	tmp := fmt.Sprintf("%s.%d.tmp", path, os.Getpid())
	os.Remove(tmp)
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: tmp, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("proxy socket: %w", err)
	}
	// The listener must not unlink the temporary name on Close: after the
	// rename that name no longer exists. Run removes path itself.
	l.SetUnlinkOnClose(false)
	if err := os.Chmod(tmp, 0o600); err != nil {
		l.Close()
		os.Remove(tmp)
		return nil, fmt.Errorf("proxy socket: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		l.Close()
		os.Remove(tmp)
		return nil, fmt.Errorf("proxy socket: %w", err)
	}
	return l, nil
}
