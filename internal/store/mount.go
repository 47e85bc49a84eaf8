package store

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"

	bolt "go.etcd.io/bbolt"
	"golang.org/x/sys/unix"
)

// mountDataMax is the most option text mount(2) accepts: the kernel copies
// at most one page of it.
const mountDataMax = 4096 - 1

// Mount prepares img (see Prepare) and mounts an overlay of its layers at
// dir/rootfs, with the container's writable layer in dir/upper (and overlay's
// scratch dir in dir/work), and records that containerID uses img. dir must
// be absolute; it survives Unmount because the upper layer is the
// container's data. Mounting an already
// mounted dir is a no-op, so a restarted daemon can call it again.
func (s *Store) Mount(ctx context.Context, containerID string, img Image, dir string) (rootfs string, err error) {
	if err := validContainerID(containerID); err != nil {
		return "", err
	}
	if !filepath.IsAbs(dir) {
		return "", fmt.Errorf("mount dir %q: must be an absolute path", dir)
	}
	dir = filepath.Clean(dir)
	// overlayfs splits its options on ',' and lowerdir on ':'.
	if strings.ContainsAny(dir, ",:\\") || strings.ContainsAny(s.root, ",:\\") {
		return "", fmt.Errorf("mount dir %q or store root %q contains ',', ':' or '\\', which overlayfs options cannot carry", dir, s.root)
	}

	s.snapMu.RLock()
	defer s.snapMu.RUnlock()
	lowers, err := s.prepare(ctx, img)
	if err != nil {
		return "", err
	}
	rootfs = filepath.Join(dir, "rootfs")
	upper, work := filepath.Join(dir, "upper"), filepath.Join(dir, "work")
	// The merged root directory takes its owner and mode from upper.
	for _, d := range []struct {
		path string
		mode os.FileMode
	}{{dir, 0o700}, {upper, 0o755}, {work, 0o700}, {rootfs, 0o755}} {
		if err := os.Mkdir(d.path, d.mode); err != nil && !errors.Is(err, os.ErrExist) {
			return "", fmt.Errorf("mount: %w", err)
		}
	}
	if len(lowers) == 0 {
		// An image without layers: overlayfs still needs one lower dir.
		empty := filepath.Join(dir, "empty")
		if err := os.Mkdir(empty, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
			return "", fmt.Errorf("mount: %w", err)
		}
		lowers = []string{empty}
	}

	mounted, err := isMountPoint(rootfs)
	if err != nil {
		return "", err
	}
	if !mounted {
		if err := mountOverlay(dir, lowers, upper, work, rootfs); err != nil {
			return "", fmt.Errorf("mounting overlay at %s: %w", rootfs, err)
		}
	}
	rec := mountRecord{Dir: dir, Image: img.Digest, ChainIDs: img.ChainIDs()}
	if err := s.db.Update(func(tx *bolt.Tx) error { return putJSON(tx, bucketMounts, containerID, rec) }); err != nil {
		if !mounted {
			unmountAll(rootfs)
		}
		return "", fmt.Errorf("recording mount: %w", err)
	}
	return rootfs, nil
}

func validContainerID(id string) error {
	if id == "" || len(id) > 128 {
		return fmt.Errorf("container ID %q: must be 1-128 characters", id)
	}
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return fmt.Errorf("container ID %q: only letters, digits, '-', '_' and '.' are allowed", id)
		}
	}
	return nil
}

// mountOverlay mounts with absolute paths when they fit in the one page of
// mount data. Otherwise (images with dozens of layers) it puts short
// symlinks dir/l/0, dir/l/1, … to the layers and mounts with paths relative
// to dir, from a thread whose working directory is dir; overlayfs resolves
// the links at mount time.
func mountOverlay(dir string, lowers []string, upper, work, target string) error {
	data := "lowerdir=" + strings.Join(lowers, ":") + ",upperdir=" + upper + ",workdir=" + work
	if len(data) <= mountDataMax {
		return unix.Mount("overlay", target, "overlay", 0, data)
	}
	links := filepath.Join(dir, "l")
	if err := os.RemoveAll(links); err != nil {
		return err
	}
	if err := os.Mkdir(links, 0o700); err != nil {
		return err
	}
	rel := make([]string, len(lowers))
	for i, l := range lowers {
		n := strconv.Itoa(i)
		if err := os.Symlink(l, filepath.Join(links, n)); err != nil {
			return err
		}
		rel[i] = "l/" + n
	}
	data = "lowerdir=" + strings.Join(rel, ":") + ",upperdir=upper,workdir=work"
	if len(data) > mountDataMax {
		return fmt.Errorf("%d layers do not fit in the mount options even as short links", len(lowers))
	}
	return inDir(dir, func() error { return unix.Mount("overlay", target, "overlay", 0, data) })
}

// inDir runs fn on a dedicated OS thread whose working directory is dir.
// unshare(CLONE_FS) gives the thread its own cwd, so the rest of the process
// keeps its own; the thread is discarded afterwards (the goroutine exits
// still locked to it) rather than returned to Go's pool with a changed state.
func inDir(dir string, fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		if err := unix.Unshare(unix.CLONE_FS); err != nil {
			errc <- fmt.Errorf("unshare(CLONE_FS): %w", err)
			return
		}
		if err := unix.Chdir(dir); err != nil {
			errc <- err
			return
		}
		errc <- fn()
	}()
	return <-errc
}

// Unmount unmounts dir/rootfs, however many times it is mounted, and
// forgets the container's mount record. dir and the upper layer stay.
// Unmounting what is not mounted is not an error.
func (s *Store) Unmount(dir string) error {
	if !filepath.IsAbs(dir) {
		return fmt.Errorf("mount dir %q: must be an absolute path", dir)
	}
	dir = filepath.Clean(dir)
	if err := unmountAll(filepath.Join(dir, "rootfs")); err != nil {
		return err
	}
	os.RemoveAll(filepath.Join(dir, "l"))
	return s.db.Update(func(tx *bolt.Tx) error {
		mounts, err := allMounts(tx)
		if err != nil {
			return err
		}
		for id, m := range mounts {
			if m.Dir == dir {
				if err := tx.Bucket(bucketMounts).Delete([]byte(id)); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// unmountAll unmounts target until nothing is mounted there. A busy mount
// is detached: it disappears from the mount table at once and the kernel
// frees it when its last user goes.
func unmountAll(target string) error {
	for i := 0; i < 32; i++ {
		mounted, err := isMountPoint(target)
		if err != nil || !mounted {
			return err
		}
		err = unix.Unmount(target, 0)
		if errors.Is(err, unix.EBUSY) {
			err = unix.Unmount(target, unix.MNT_DETACH)
		}
		if err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
			return fmt.Errorf("unmounting %s: %w", target, err)
		}
	}
	return fmt.Errorf("unmounting %s: still mounted after 32 attempts", target)
}

// isMountPoint reports whether p is a mount point in this mount namespace,
// according to /proc/self/mountinfo.
func isMountPoint(p string) (bool, error) {
	if resolved, err := filepath.EvalSymlinks(p); err == nil {
		p = resolved
	} else if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	points, err := mountPoints()
	if err != nil {
		return false, err
	}
	return points[p], nil
}

// mountPoints returns the mount points of this mount namespace.
func mountPoints() (map[string]bool, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[string]bool{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) > 4 {
			out[unescapeMountinfo(fields[4])] = true
		}
	}
	return out, sc.Err()
}

// unescapeMountinfo decodes the \NNN octal escapes mountinfo uses for space,
// tab, newline and backslash.
func unescapeMountinfo(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// Users returns the IDs of containers with a recorded mount of img.
func (s *Store) Users(img Image) ([]string, error) {
	var out []string
	err := s.db.View(func(tx *bolt.Tx) error {
		mounts, err := allMounts(tx)
		for id, m := range mounts {
			if m.Image == img.Digest {
				out = append(out, id)
			}
		}
		return err
	})
	return out, err
}
