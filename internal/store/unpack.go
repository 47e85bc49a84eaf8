package store

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// OCI whiteout names and the overlayfs opaque marker they become.
const (
	whiteoutPrefix  = ".wh."
	whiteoutOpaque  = ".wh..wh..opq"
	overlayOpaque   = "trusted.overlay.opaque"
	overlayXattrPfx = "trusted.overlay."
	paxXattrPrefix  = "SCHILY.xattr."
)

// unpackTar extracts a layer tar into dir (an empty directory) in the form
// overlayfs reads as a lower layer: OCI whiteouts become 0/0 character
// devices and opaque markers the trusted.overlay.opaque xattr.
//
// Security: the process is root and the tar is untrusted. Every entry is
// created relative to a directory fd reached one component at a time with
// O_NOFOLLOW|O_DIRECTORY, so neither "..", an absolute name nor a symlink
// (from this very tar) can lead outside dir; entries whose path would need
// any of those are refused, and the caller then discards the whole unpack.
func unpackTar(ctx context.Context, r io.Reader, dir string) error {
	root, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("opening %s: %w", dir, err)
	}
	u := &unpacker{root: root, cachedFd: -1}
	defer u.close()

	tr := tar.NewReader(r)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("reading layer tar: %w", err)
		}
		if err := u.entry(hdr, tr); err != nil {
			return fmt.Errorf("layer entry %q: %w", hdr.Name, err)
		}
	}
	return u.finishDirTimes()
}

type unpacker struct {
	root int
	// The parent directory of the previous entry stays open: tars list
	// siblings together, so this saves most of the per-component walks.
	cachedPath string
	cachedFd   int
	dirs       []dirTimes
}

// dirTimes is applied after the whole tar, because creating children
// changes a directory's mtime.
type dirTimes struct {
	path         string
	atime, mtime time.Time
}

func (u *unpacker) close() {
	u.dropCache()
	unix.Close(u.root)
}

func (u *unpacker) dropCache() {
	if u.cachedFd >= 0 {
		unix.Close(u.cachedFd)
	}
	u.cachedFd, u.cachedPath = -1, ""
}

// cleanEntryPath validates a tar entry name and returns it relative to the
// layer root ("." for the root itself).
func cleanEntryPath(name string) (string, error) {
	if name == "" {
		return "", fmt.Errorf("empty path")
	}
	if strings.ContainsRune(name, 0) {
		return "", fmt.Errorf("path contains a NUL byte")
	}
	if strings.HasPrefix(name, "/") {
		return "", fmt.Errorf("absolute path refused")
	}
	p := path.Clean(name)
	if p == ".." || strings.HasPrefix(p, "../") {
		return "", fmt.Errorf("path escapes the layer root")
	}
	return p, nil
}

// openDir opens the directory rel (relative to the root, already cleaned)
// one component at a time, never following a symlink. With create, missing
// components are made (0755 root:root, as a tar without directory entries
// implies). The caller owns the returned fd.
func (u *unpacker) openDir(rel string, create bool) (int, error) {
	fd, err := unix.Dup(u.root)
	if err != nil {
		return -1, err
	}
	if rel == "." {
		return fd, nil
	}
	for _, comp := range strings.Split(rel, "/") {
		next, err := unix.Openat(fd, comp, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if errors.Is(err, unix.ENOENT) && create {
			if err = unix.Mkdirat(fd, comp, 0o755); err == nil || errors.Is(err, unix.EEXIST) {
				next, err = unix.Openat(fd, comp, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
			}
		}
		unix.Close(fd)
		switch {
		case errors.Is(err, unix.ELOOP), errors.Is(err, unix.ENOTDIR):
			return -1, fmt.Errorf("path %q leads through a symlink or a non-directory (%s); refused", rel, comp)
		case err != nil:
			return -1, fmt.Errorf("opening %q: %w", rel, err)
		}
		fd = next
	}
	return fd, nil
}

// parent returns an fd of rel's parent directory, owned by the unpacker.
func (u *unpacker) parent(dir string) (int, error) {
	if u.cachedFd >= 0 && u.cachedPath == dir {
		return u.cachedFd, nil
	}
	u.dropCache()
	fd, err := u.openDir(dir, true)
	if err != nil {
		return -1, err
	}
	u.cachedFd, u.cachedPath = fd, dir
	return fd, nil
}

func (u *unpacker) entry(hdr *tar.Header, r io.Reader) error {
	p, err := cleanEntryPath(hdr.Name)
	if err != nil {
		return err
	}
	if hdr.Typeflag == tar.TypeXGlobalHeader {
		return nil
	}
	if p == "." {
		if hdr.Typeflag != tar.TypeDir {
			return fmt.Errorf("the layer root must be a directory")
		}
		return u.dirMeta(u.root, ".", p, hdr)
	}
	dir, base := path.Split(p)
	dir = path.Clean(dir) // "" → "."
	pfd, err := u.parent(dir)
	if err != nil {
		return err
	}

	switch {
	case base == whiteoutOpaque:
		// The directory hides whatever lower layers have in it.
		if err := unix.Fsetxattr(pfd, overlayOpaque, []byte("y"), 0); err != nil {
			return fmt.Errorf("marking %q opaque: %w", dir, err)
		}
		return nil
	case strings.HasPrefix(base, whiteoutPrefix):
		target := strings.TrimPrefix(base, whiteoutPrefix)
		if target == "" || target == "." || target == ".." {
			return fmt.Errorf("invalid whiteout name")
		}
		// A whiteout hides lower layers only; an entry of the same name in
		// this layer stays.
		var st unix.Stat_t
		if err := unix.Fstatat(pfd, target, &st, unix.AT_SYMLINK_NOFOLLOW); err == nil {
			return nil
		}
		if err := unix.Mknodat(pfd, target, unix.S_IFCHR, 0); err != nil {
			return fmt.Errorf("creating whiteout for %q: %w", target, err)
		}
		return nil
	}

	keepDir, err := u.clearTarget(pfd, base, hdr.Typeflag == tar.TypeDir)
	if err != nil {
		return err
	}
	mode := uint32(hdr.Mode & 0o7777)

	switch hdr.Typeflag {
	case tar.TypeDir:
		if !keepDir {
			if err := unix.Mkdirat(pfd, base, 0o700); err != nil {
				return err
			}
		}
		fd, err := unix.Openat(pfd, base, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			return err
		}
		defer unix.Close(fd)
		return u.dirMeta(fd, base, p, hdr)

	case tar.TypeReg, tar.TypeRegA:
		fd, err := unix.Openat(pfd, base, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
		if err != nil {
			return err
		}
		f := os.NewFile(uintptr(fd), p)
		_, err = io.Copy(f, r)
		if err == nil {
			// chown clears setuid/setgid, so the mode comes after it.
			err = f.Chown(hdr.Uid, hdr.Gid)
		}
		if err == nil {
			err = unix.Fchmod(fd, mode)
		}
		if err == nil {
			err = setXattrs(hdr, func(k string, v []byte) error { return unix.Fsetxattr(fd, k, v, 0) })
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
		return setTimes(pfd, base, hdr)

	case tar.TypeSymlink:
		if err := unix.Symlinkat(hdr.Linkname, pfd, base); err != nil {
			return err
		}
		if err := unix.Fchownat(pfd, base, hdr.Uid, hdr.Gid, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return err
		}
		if err := setXattrs(hdr, func(k string, v []byte) error {
			return unix.Lsetxattr(procPath(pfd, base), k, v, 0)
		}); err != nil {
			return err
		}
		return setTimes(pfd, base, hdr)

	case tar.TypeLink:
		target, err := cleanEntryPath(hdr.Linkname)
		if err != nil || target == "." {
			return fmt.Errorf("hardlink target %q: invalid or escapes the layer", hdr.Linkname)
		}
		tdir, tbase := path.Split(target)
		tfd, err := u.openDir(path.Clean(tdir), false)
		if err != nil {
			return fmt.Errorf("hardlink target %q: %w", hdr.Linkname, err)
		}
		defer unix.Close(tfd)
		// Flags 0: a symlink target is linked itself, never followed.
		if err := unix.Linkat(tfd, tbase, pfd, base, 0); err != nil {
			if errors.Is(err, unix.ENOENT) {
				return fmt.Errorf("hardlink target %q is not in this layer", hdr.Linkname)
			}
			return fmt.Errorf("hardlink to %q: %w", hdr.Linkname, err)
		}
		return nil

	case tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
		kind := map[byte]uint32{tar.TypeChar: unix.S_IFCHR, tar.TypeBlock: unix.S_IFBLK, tar.TypeFifo: unix.S_IFIFO}[hdr.Typeflag]
		dev := unix.Mkdev(uint32(hdr.Devmajor), uint32(hdr.Devminor))
		if err := unix.Mknodat(pfd, base, kind|0o600, int(dev)); err != nil {
			return err
		}
		if err := unix.Fchownat(pfd, base, hdr.Uid, hdr.Gid, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return err
		}
		if err := unix.Fchmodat(pfd, base, mode, 0); err != nil {
			return err
		}
		if err := setXattrs(hdr, func(k string, v []byte) error {
			return unix.Lsetxattr(procPath(pfd, base), k, v, 0)
		}); err != nil {
			return err
		}
		return setTimes(pfd, base, hdr)

	default:
		return fmt.Errorf("unsupported tar entry type %q", string(hdr.Typeflag))
	}
}

// clearTarget makes room for a new entry called base: a later tar entry
// replaces an earlier one (tar semantics) and an entry replaces a whiteout
// of its own name. Two directories merge instead (keepDir).
func (u *unpacker) clearTarget(pfd int, base string, isDir bool) (keepDir bool, err error) {
	var st unix.Stat_t
	if err := unix.Fstatat(pfd, base, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		if errors.Is(err, unix.ENOENT) {
			return false, nil
		}
		return false, err
	}
	if st.Mode&unix.S_IFMT == unix.S_IFDIR {
		if isDir {
			return true, nil
		}
		// base has no '/', so only its subtree goes; pfd (the one cached
		// fd) is its parent and stays valid.
		if err := os.RemoveAll(procPath(pfd, base)); err != nil {
			return false, err
		}
		return false, nil
	}
	return false, unix.Unlinkat(pfd, base, 0)
}

// dirMeta sets a directory's owner, mode and xattrs now and its times at the
// end. fd is the directory itself.
func (u *unpacker) dirMeta(fd int, base, p string, hdr *tar.Header) error {
	if err := unix.Fchown(fd, hdr.Uid, hdr.Gid); err != nil {
		return err
	}
	if err := unix.Fchmod(fd, uint32(hdr.Mode&0o7777)); err != nil {
		return err
	}
	if err := setXattrs(hdr, func(k string, v []byte) error { return unix.Fsetxattr(fd, k, v, 0) }); err != nil {
		return err
	}
	u.dirs = append(u.dirs, dirTimes{path: p, atime: accessTime(hdr), mtime: hdr.ModTime})
	return nil
}

// finishDirTimes applies directory times, deepest last-listed first.
func (u *unpacker) finishDirTimes() error {
	for i := len(u.dirs) - 1; i >= 0; i-- {
		d := u.dirs[i]
		ts := []unix.Timespec{unix.NsecToTimespec(d.atime.UnixNano()), unix.NsecToTimespec(d.mtime.UnixNano())}
		dir, base := path.Split(d.path)
		if d.path == "." {
			dir, base = ".", "."
		}
		fd, err := u.openDir(path.Clean(dir), false)
		if err != nil {
			return err
		}
		err = unix.UtimesNanoAt(fd, base, ts, unix.AT_SYMLINK_NOFOLLOW)
		unix.Close(fd)
		if err != nil && !errors.Is(err, unix.ENOENT) { // replaced later in the tar
			return fmt.Errorf("setting times of %q: %w", d.path, err)
		}
	}
	return nil
}

func accessTime(hdr *tar.Header) time.Time {
	if hdr.AccessTime.IsZero() {
		return hdr.ModTime
	}
	return hdr.AccessTime
}

func setTimes(pfd int, base string, hdr *tar.Header) error {
	ts := []unix.Timespec{unix.NsecToTimespec(accessTime(hdr).UnixNano()), unix.NsecToTimespec(hdr.ModTime.UnixNano())}
	return unix.UtimesNanoAt(pfd, base, ts, unix.AT_SYMLINK_NOFOLLOW)
}

// setXattrs applies the entry's PAX xattr records. overlayfs's own
// trusted.overlay.* attributes are dropped: in a lower layer they would let
// an image forge redirects or opacity the whiteout conversion did not make.
// A filesystem without xattr support is tolerated, as Docker does.
func setXattrs(hdr *tar.Header, set func(string, []byte) error) error {
	for k, v := range hdr.PAXRecords {
		name, ok := strings.CutPrefix(k, paxXattrPrefix)
		if !ok || name == "" || strings.HasPrefix(name, overlayXattrPfx) {
			continue
		}
		if err := set(name, []byte(v)); err != nil {
			if errors.Is(err, unix.EOPNOTSUPP) {
				continue
			}
			return fmt.Errorf("setting xattr %s: %w", name, err)
		}
	}
	return nil
}

// procPath names base inside the directory fd for the *xattr calls that
// have no at-variant; the final component is never followed by l*xattr.
func procPath(fd int, base string) string {
	return "/proc/self/fd/" + strconv.Itoa(fd) + "/" + base
}
