package runtime

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// bothResolvers runs f with openat2 and with the walk fallback.
func bothResolvers(t *testing.T, f func(t *testing.T)) {
	t.Run("openat2", f)
	t.Run("walk", func(t *testing.T) {
		openat2Unavailable = true
		t.Cleanup(func() { openat2Unavailable = false })
		f(t)
	})
}

// userRoot is a root with /etc and the passwd/group files given (an empty
// content leaves the file out).
func userRoot(t *testing.T) string {
	t.Helper()
	root := filepath.Join(t.TempDir(), "rootfs")
	for _, d := range []string{"etc", "usr/share"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// resolveWithin runs resolveUser and fails the test if it does not return
// within 10 s (the old code blocked forever on a FIFO); unblock undoes
// whatever it blocks on then.
func resolveWithin(t *testing.T, root, user string, unblock func()) (resolvedUser, error) {
	t.Helper()
	type result struct {
		u   resolvedUser
		err error
	}
	done := make(chan result, 1)
	go func() {
		u, err := resolveUser(context.Background(), root, user)
		done <- result{u, err}
	}()
	select {
	case r := <-done:
		return r.u, r.err
	case <-time.After(10 * time.Second):
		if unblock != nil {
			unblock()
		}
		t.Fatalf("resolveUser(%q) still blocked after 10s", user)
		return resolvedUser{}, nil
	}
}

func TestResolveUserRefusesFIFO(t *testing.T) {
	bothResolvers(t, func(t *testing.T) {
		root := userRoot(t)
		fifo := filepath.Join(root, "etc/passwd")
		if err := unix.Mkfifo(fifo, 0o644); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		_, err := resolveWithin(t, root, "app", func() {
			// Give the blocked open a writer, and EOF.
			if f, err := os.OpenFile(fifo, os.O_WRONLY, 0); err == nil {
				f.Close()
			}
		})
		if err == nil || !errors.Is(err, errNotRegular) || !strings.Contains(err.Error(), "FIFO") || !strings.Contains(err.Error(), "/etc/passwd") {
			t.Fatalf("err = %v, want a clear error naming /etc/passwd as a FIFO", err)
		}
		t.Logf("refused in %v: %v", time.Since(start), err)
	})
}

func TestResolveUserRefusesDeviceNodes(t *testing.T) {
	bothResolvers(t, func(t *testing.T) {
		for _, c := range []struct {
			file         string
			major, minor uint32
		}{
			{"etc/passwd", 1, 5}, // the host's /dev/zero: the old code read it
			{"etc/group", 1, 3},  // the host's /dev/null: the old code took it for an empty file
		} {
			root := userRoot(t)
			if err := unix.Mknod(filepath.Join(root, c.file), unix.S_IFCHR|0o644, int(unix.Mkdev(c.major, c.minor))); err != nil {
				t.Fatal(err)
			}
			// A numeric user needs no database; the file is still refused
			// rather than opened.
			_, err := resolveWithin(t, root, "0", nil)
			if err == nil || !errors.Is(err, errNotRegular) || !strings.Contains(err.Error(), "character device") || !strings.Contains(err.Error(), "/"+c.file) {
				t.Errorf("c %d:%d at /%s: err = %v, want a clear not-a-regular-file error", c.major, c.minor, c.file, err)
			}
		}
	})
}

func TestResolveUserSymlinksStayInRoot(t *testing.T) {
	bothResolvers(t, func(t *testing.T) {
		outside := filepath.Join(t.TempDir(), "passwd")
		if err := os.WriteFile(outside, []byte("evil:x:4242:4242::/evil:/bin/sh\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		for _, target := range []string{
			"/etc/shadow", // the host's, were it followed out of the root
			outside,
			"../../../../../../../../" + strings.TrimPrefix(outside, "/"),
		} {
			root := userRoot(t)
			if err := os.Symlink(target, filepath.Join(root, "etc/passwd")); err != nil {
				t.Fatal(err)
			}
			// In the root, the target does not exist: no user database.
			for _, user := range []string{"evil", "root"} {
				if u, err := resolveWithin(t, root, user, nil); err == nil {
					t.Errorf("/etc/passwd -> %s: user %q resolved to %+v from outside the root", target, user, u)
				}
			}
		}

		// A symlink inside the root is followed, as by Docker.
		root := userRoot(t)
		if err := os.WriteFile(filepath.Join(root, "usr/share/passwd"), []byte("app:x:1000:1000::/home/app:/bin/sh\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink("../usr/share/passwd", filepath.Join(root, "etc/passwd")); err != nil {
			t.Fatal(err)
		}
		if u, err := resolveWithin(t, root, "app", nil); err != nil || u.UID != 1000 || u.Home != "/home/app" {
			t.Errorf("in-root symlink: %+v, %v", u, err)
		}
	})
}

func TestReadFileInRootBounds(t *testing.T) {
	bothResolvers(t, func(t *testing.T) {
		root := userRoot(t)
		big := filepath.Join(root, "etc/passwd")
		if err := os.WriteFile(big, make([]byte, maxRootFile+1), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := resolveWithin(t, root, "0", nil); err == nil || !strings.Contains(err.Error(), "allowed") {
			t.Errorf("oversized /etc/passwd: err = %v", err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := readFileInRoot(ctx, root, "/etc/group", maxRootFile); !errors.Is(err, context.Canceled) {
			t.Errorf("cancelled context: err = %v", err)
		}
		if _, err := readFileInRoot(context.Background(), root, "/etc", maxRootFile); !errors.Is(err, errNotRegular) {
			t.Errorf("directory: err = %v", err)
		}
	})
}

func TestWalkInRoot(t *testing.T) {
	root := userRoot(t)
	mustWrite := func(name, content string) {
		if err := os.WriteFile(filepath.Join(root, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	mustLink := func(target, name string) {
		if err := os.Symlink(target, filepath.Join(root, name)); err != nil {
			t.Fatal(err)
		}
	}
	mustWrite("etc/a", "a")
	mustLink("/etc", "usr/share/etcdir")
	mustLink("../../etc/a", "usr/share/rel")
	mustLink("loop2", "etc/loop1")
	mustLink("loop1", "etc/loop2")
	rfd, err := unix.Open(root, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(rfd)
	for name, want := range map[string]string{
		"/etc/a":                     "etc/a",
		"/../../etc/a":               "etc/a",
		"usr/share/etcdir/a":         "etc/a",
		"/usr/share/rel":             "etc/a",
		"/usr/share/etcdir/../etc/a": "etc/a",
	} {
		fd, err := walkInRoot(rfd, name)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		got, err := os.Readlink("/proc/self/fd/" + strconv.Itoa(fd))
		unix.Close(fd)
		if err != nil || got != filepath.Join(root, want) {
			t.Errorf("%s resolved to %q (%v), want %s", name, got, err, filepath.Join(root, want))
		}
	}
	for name, want := range map[string]error{
		"/etc/loop1":   unix.ELOOP,
		"/etc/a/b":     unix.ENOTDIR,
		"/etc/missing": unix.ENOENT,
	} {
		fd, err := walkInRoot(rfd, name)
		if err == nil {
			unix.Close(fd)
		}
		if !errors.Is(err, want) {
			t.Errorf("%s: err = %v, want %v", name, err, want)
		}
	}
}

// FuzzWalkInRoot: whatever the symlinks in the root and the name, the walk
// ends inside the root, and where openat2 resolves the name too, at the
// same file.
func FuzzWalkInRoot(f *testing.F) {
	f.Add("/etc", "/l/a")
	f.Add("../../..", "/l/etc/a")
	f.Add("l", "/l")
	f.Add("/etc/a/..", "l/../etc/./a")
	f.Fuzz(func(t *testing.T, target, name string) {
		if strings.ContainsRune(target, 0) || strings.ContainsRune(name, 0) || target == "" || len(target) > 512 || len(name) > 512 {
			return
		}
		root := filepath.Join(t.TempDir(), "rootfs")
		if err := os.MkdirAll(filepath.Join(root, "etc"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, "etc/a"), nil, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(target, filepath.Join(root, "l")); err != nil {
			return
		}
		rfd, err := unix.Open(root, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer unix.Close(rfd)
		where := func(fd int) string {
			p, err := os.Readlink("/proc/self/fd/" + strconv.Itoa(fd))
			unix.Close(fd)
			if err != nil {
				t.Fatal(err)
			}
			return p
		}
		fd, err := walkInRoot(rfd, name)
		if err != nil {
			return
		}
		got := where(fd)
		if got != root && !strings.HasPrefix(got, root+"/") {
			t.Fatalf("link -> %q, name %q: resolved to %q, outside %s", target, name, got, root)
		}
		kfd, err := unix.Openat2(rfd, name, &unix.OpenHow{Flags: unix.O_PATH | unix.O_CLOEXEC, Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS})
		if err == nil {
			if k := where(kfd); k != got {
				t.Fatalf("link -> %q, name %q: walk resolved %q, openat2 %q", target, name, got, k)
			}
		}
	})
}
