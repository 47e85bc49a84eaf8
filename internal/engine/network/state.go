package network

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/berth-dev/berth/internal/atomicfile"

	"golang.org/x/sys/unix"
)

// writeJSONAtomic persists v at path so that a crash leaves either the old or
// the new content, never a torn file: write a temp file in the same
// directory, fsync it, rename it over path, then fsync the directory so the
// rename itself is durable.
func writeJSONAtomic(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encode %s: %w", path, err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	return atomicfile.Write(path, append(data, '\n'), 0o600)
}

// readJSON decodes path into v. A missing file is reported as
// os.ErrNotExist so callers can tell "absent" from "corrupt".
func readJSON(path string, v any) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("corrupt state file %s: %w", path, err)
	}
	return nil
}

// removeDurably deletes path (missing is fine) and syncs its directory.
func removeDurably(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return atomicfile.SyncDir(filepath.Dir(path))
}

// fileLock is an flock(2) on a file under the state directory. It serialises
// network state changes between goroutines of one daemon and between
// processes sharing a state directory (for example a daemon and a CLI doing
// cleanup), and is released by the kernel if the holder dies.
type fileLock struct {
	f    *os.File
	also *fileLock // released after this one
}

func lockFile(path string) (*fileLock, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	for {
		err = unix.Flock(int(f.Fd()), unix.LOCK_EX)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return &fileLock{f: f}, nil
}

func (l *fileLock) unlock() {
	_ = unix.Flock(int(l.f.Fd()), unix.LOCK_UN)
	_ = l.f.Close()
	if l.also != nil {
		l.also.unlock()
	}
}
