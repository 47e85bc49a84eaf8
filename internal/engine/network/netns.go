package network

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"

	"golang.org/x/sys/unix"
)

// NetNSPath is where CreateNetNS pins the namespace of container id.
func (m *Manager) NetNSPath(id string) string {
	return filepath.Join(m.runDir, "netns", id)
}

// ReserveNetNS validates id and returns the path its namespace will be
// pinned at, creating nothing: TakeFromPool pins a pooled namespace there,
// CreateNetNS a new one.
func (m *Manager) ReserveNetNS(id string) (string, error) {
	if err := validateID("container id", id); err != nil {
		return "", err
	}
	return m.NetNSPath(id), nil
}

// CreateNetNS creates a network namespace with its loopback interface up and
// pins it by bind-mounting it onto runDir/netns/<id>, so it outlives every
// process (the runtime later joins it by path). Calling it again for a live
// namespace returns the same path.
func (m *Manager) CreateNetNS(id string) (string, error) {
	if err := validateID("container id", id); err != nil {
		return "", err
	}
	path := m.NetNSPath(id)
	if isNetNS(path) {
		return path, nil
	}
	// A plain file left by a crash between create and bind-mount.
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("remove stale netns file %s: %w", path, err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return "", err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_RDONLY, 0o444)
	if err != nil {
		return "", fmt.Errorf("create netns mount point: %w", err)
	}
	f.Close()

	errc := make(chan error, 1)
	go func() {
		// unshare(CLONE_NEWNET) moves only the calling OS thread into the
		// new namespace. The thread stays locked and is never unlocked, so
		// when this goroutine returns the Go runtime discards the thread
		// instead of reusing it in the wrong namespace.
		runtime.LockOSThread()
		errc <- func() error {
			if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
				return fmt.Errorf("unshare network namespace: %w", err)
			}
			src := fmt.Sprintf("/proc/self/task/%d/ns/net", unix.Gettid())
			if err := unix.Mount(src, path, "none", unix.MS_BIND, ""); err != nil {
				return fmt.Errorf("bind-mount network namespace onto %s: %w", path, err)
			}
			return setLinkUp("lo")
		}()
	}()
	if err := <-errc; err != nil {
		_ = unix.Unmount(path, unix.MNT_DETACH)
		_ = os.Remove(path)
		return "", err
	}
	return path, nil
}

// DeleteNetNS unpins and removes the namespace file. The kernel frees the
// namespace once no process is left in it. Idempotent.
func (m *Manager) DeleteNetNS(id string) error {
	if err := validateID("container id", id); err != nil {
		return err
	}
	return unpinNetNS(m.NetNSPath(id))
}

// unpinNetNS unmounts a pinned namespace and removes its file. Idempotent.
func unpinNetNS(path string) error {
	if err := unix.Unmount(path, unix.MNT_DETACH); err != nil && err != unix.EINVAL && err != unix.ENOENT {
		return fmt.Errorf("unmount %s: %w", path, err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove %s: %w", path, err)
	}
	return nil
}

// isNetNS reports whether path is a mounted network namespace (nsfs).
func isNetNS(path string) bool {
	var st unix.Statfs_t
	if err := unix.Statfs(path, &st); err != nil {
		return false
	}
	return st.Type == unix.NSFS_MAGIC
}
