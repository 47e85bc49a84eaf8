package runtime

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Reading a file of a container's root filesystem.
//
// The daemon is root on the host, outside any device cgroup, and the
// content of a container root is untrusted: image layers may carry FIFOs,
// device nodes and symlinks anywhere, and a running container with
// CAP_MKNOD can plant them in its writable layer. Opening such a file the
// ordinary way lets the image make the daemon block forever (a FIFO),
// open a host device (c 1:5 reads the host's /dev/zero; opening c 10:130
// arms the watchdog) or read a host file (a symlink to /etc/shadow).
//
// readFileInRoot therefore:
//   - resolves the name inside the root (openat2 RESOLVE_IN_ROOT |
//     RESOLVE_NO_MAGICLINKS, or the equivalent walk below where openat2 is
//     missing): symlinks, absolute or relative, and ".." never leave it;
//   - opens only an O_PATH handle first (which opens no device and waits
//     for no FIFO writer), fstats it and refuses anything that is not a
//     regular file;
//   - only then opens the very same inode for reading (through
//     /proc/self/fd), O_NONBLOCK, and reads at most max bytes, checking ctx
//     between chunks.
//
// Audit of the daemon's other accesses to a container root (also in the
// security notes of docs/architecture.md): the user lookup (/etc/passwd,
// /etc/group, here) is the only place berth itself opens a file in a
// container root. Mount points (volumes, binds, secrets, tmpfs,
// /etc/resolv.conf, /etc/hosts, /etc/hostname) are created inside the root
// by runc, which resolves them inside the root; their sources are host
// paths under the daemon's own directories (or a bind source the user
// named). exec and health checks run through runc exec (the working
// directory and a numeric user are resolved inside the container). Layers
// are unpacked by internal/store with an O_NOFOLLOW walk per entry.
// Volumes start empty (no copy-up from the image) and are measured with
// WalkDir, which follows no symlink.

// maxRootFile bounds what readFileInRoot reads: a passwd or group file of
// a few MiB is already absurd.
const maxRootFile = 4 << 20

// errNotRegular is returned for a name that resolves to anything but a
// regular file.
var errNotRegular = errors.New("not a regular file")

// openat2Unavailable makes the walk fallback used even where openat2
// exists (tests).
var openat2Unavailable = false

// readFileInRoot returns the content of name (an absolute path in the
// container) in root, or an error wrapping os.ErrNotExist when it is
// missing, errNotRegular for a FIFO, device, socket or directory, and an
// error when it is longer than max bytes.
func readFileInRoot(ctx context.Context, root, name string, max int64) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	rfd, err := unix.Open(root, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("root %q: %w", root, err)
	}
	defer unix.Close(rfd)
	pfd, err := openPathInRoot(rfd, name)
	if err != nil {
		if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENOTDIR) {
			return nil, fmt.Errorf("%s in root %q: %w", name, root, os.ErrNotExist)
		}
		return nil, fmt.Errorf("%s in root %q: %w", name, root, err)
	}
	defer unix.Close(pfd)
	var st unix.Stat_t
	if err := unix.Fstat(pfd, &st); err != nil {
		return nil, fmt.Errorf("%s in root %q: %w", name, root, err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return nil, fmt.Errorf("%s in root %q: %w (%s)", name, root, errNotRegular, fileKind(st.Mode))
	}
	if st.Size > max {
		return nil, fmt.Errorf("%s in root %q: %d bytes, more than the %d allowed", name, root, st.Size, max)
	}
	// Reopening the O_PATH handle opens the inode just checked, whatever
	// happened to the name since.
	fd, err := unix.Open("/proc/self/fd/"+strconv.Itoa(pfd), unix.O_RDONLY|unix.O_NONBLOCK|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("%s in root %q: reopen: %w", name, root, err)
	}
	f := os.NewFile(uintptr(fd), name)
	defer f.Close()
	var out []byte
	buf := make([]byte, 64<<10)
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		n, err := f.Read(buf)
		out = append(out, buf[:n]...)
		if int64(len(out)) > max {
			return nil, fmt.Errorf("%s in root %q: more than the %d bytes allowed", name, root, max)
		}
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("read %s in root %q: %w", name, root, err)
		}
	}
}

func fileKind(mode uint32) string {
	switch mode & unix.S_IFMT {
	case unix.S_IFIFO:
		return "a FIFO"
	case unix.S_IFCHR:
		return "a character device"
	case unix.S_IFBLK:
		return "a block device"
	case unix.S_IFSOCK:
		return "a socket"
	case unix.S_IFDIR:
		return "a directory"
	case unix.S_IFLNK:
		return "a symlink"
	}
	return fmt.Sprintf("mode %#o", mode&unix.S_IFMT)
}

// openPathInRoot returns an O_PATH descriptor of name resolved inside the
// directory rfd as if rfd were "/".
func openPathInRoot(rfd int, name string) (int, error) {
	if !openat2Unavailable {
		fd, err := unix.Openat2(rfd, strings.TrimLeft(name, "/"), &unix.OpenHow{
			Flags:   unix.O_PATH | unix.O_CLOEXEC,
			Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS,
		})
		// ENOSYS: kernel before 5.6; EPERM: a seccomp filter refusing it.
		if err == nil || (!errors.Is(err, unix.ENOSYS) && !errors.Is(err, unix.EPERM)) {
			return fd, err
		}
	}
	return walkInRoot(rfd, name)
}

// maxSymlinks is the kernel's limit on symlinks followed in one lookup.
const maxSymlinks = 40

// walkInRoot resolves name one component at a time, each opened O_PATH |
// O_NOFOLLOW relative to the previous one: a symlink is read and its
// target resolved from the root (absolute) or from its directory
// (relative), ".." stops at the root, so nothing leads out of it.
func walkInRoot(rfd int, name string) (int, error) {
	// dirs[len-1] is the current directory; dirs[0] is the root, not ours to close.
	dirs := []int{rfd}
	closeAll := func() {
		for _, d := range dirs[1:] {
			unix.Close(d)
		}
	}
	todo := strings.Split(name, "/")
	links := 0
	for len(todo) > 0 {
		c := todo[0]
		todo = todo[1:]
		switch c {
		case "", ".":
			continue
		case "..":
			if len(dirs) > 1 {
				unix.Close(dirs[len(dirs)-1])
				dirs = dirs[:len(dirs)-1]
			}
			continue
		}
		fd, err := unix.Openat(dirs[len(dirs)-1], c, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			closeAll()
			return -1, err
		}
		var st unix.Stat_t
		if err := unix.Fstat(fd, &st); err != nil {
			unix.Close(fd)
			closeAll()
			return -1, err
		}
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFLNK:
			target, err := readlinkFd(fd)
			unix.Close(fd)
			if err != nil {
				closeAll()
				return -1, err
			}
			if links++; links > maxSymlinks {
				closeAll()
				return -1, unix.ELOOP
			}
			if strings.HasPrefix(target, "/") {
				closeAll()
				dirs = dirs[:1]
			}
			todo = append(strings.Split(target, "/"), todo...)
		case unix.S_IFDIR:
			dirs = append(dirs, fd)
		default:
			if strings.Join(todo, "") != "" { // "file/x", "file/." or "file/.."
				unix.Close(fd)
				closeAll()
				return -1, unix.ENOTDIR
			}
			closeAll()
			return fd, nil
		}
	}
	if len(dirs) == 1 {
		// The root itself.
		return unix.Openat(rfd, ".", unix.O_PATH|unix.O_CLOEXEC, 0)
	}
	fd := dirs[len(dirs)-1]
	dirs = dirs[:len(dirs)-1]
	closeAll()
	return fd, nil
}

func readlinkFd(fd int) (string, error) {
	buf := make([]byte, unix.PathMax)
	n, err := unix.Readlinkat(fd, "", buf)
	if err != nil {
		return "", err
	}
	return string(buf[:n]), nil
}
