package runtime

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// resolvedUser is the process identity a "user[:group]" string maps to.
type resolvedUser struct {
	UID, GID       uint32
	AdditionalGids []uint32
	Home           string
}

// passwdEntry and groupEntry hold the fields of /etc/passwd and /etc/group
// that identity resolution needs.
type passwdEntry struct {
	name     string
	uid, gid uint32
	home     string
}

type groupEntry struct {
	name    string
	gid     uint32
	members []string
}

// resolveUser maps spec ("", "uid", "name", "uid:gid", "name:group") to ids
// using the image's own /etc/passwd and /etc/group, like Docker: a user
// without an explicit group gets its passwd primary group, and every user
// gets the supplementary groups that list it as a member.
func resolveUser(rootfs, spec string) (resolvedUser, error) {
	userPart, groupPart, hasGroup := strings.Cut(spec, ":")
	if userPart == "" {
		userPart = "0"
	}
	if hasGroup && groupPart == "" {
		return resolvedUser{}, fmt.Errorf("user %q: empty group", spec)
	}
	passwd, err := readPasswd(rootfs)
	if err != nil {
		return resolvedUser{}, err
	}
	groups, err := readGroups(rootfs)
	if err != nil {
		return resolvedUser{}, err
	}

	u := resolvedUser{Home: "/"}
	name := ""
	if id, err := parseID(userPart); err == nil {
		u.UID = id
		for _, p := range passwd {
			if p.uid == id {
				name, u.GID, u.Home = p.name, p.gid, p.home
				break
			}
		}
	} else {
		found := false
		for _, p := range passwd {
			if p.name == userPart {
				name, u.UID, u.GID, u.Home, found = p.name, p.uid, p.gid, p.home, true
				break
			}
		}
		if !found {
			return resolvedUser{}, fmt.Errorf("user %q: no such user in the image's /etc/passwd", userPart)
		}
	}
	if hasGroup {
		if id, err := parseID(groupPart); err == nil {
			u.GID = id
		} else {
			found := false
			for _, g := range groups {
				if g.name == groupPart {
					u.GID, found = g.gid, true
					break
				}
			}
			if !found {
				return resolvedUser{}, fmt.Errorf("user %q: no such group %q in the image's /etc/group", spec, groupPart)
			}
		}
	}
	if name != "" {
		for _, g := range groups {
			if g.gid != u.GID && slices.Contains(g.members, name) {
				u.AdditionalGids = append(u.AdditionalGids, g.gid)
			}
		}
	}
	if u.Home == "" {
		u.Home = "/"
	}
	return u, nil
}

func parseID(s string) (uint32, error) {
	n, err := strconv.ParseUint(s, 10, 32)
	return uint32(n), err
}

func readPasswd(rootfs string) ([]passwdEntry, error) {
	var out []passwdEntry
	err := readColonFile(rootfs, "/etc/passwd", func(f []string) {
		if len(f) < 7 {
			return
		}
		uid, err1 := parseID(f[2])
		gid, err2 := parseID(f[3])
		if err1 != nil || err2 != nil {
			return
		}
		out = append(out, passwdEntry{name: f[0], uid: uid, gid: gid, home: f[5]})
	})
	return out, err
}

func readGroups(rootfs string) ([]groupEntry, error) {
	var out []groupEntry
	err := readColonFile(rootfs, "/etc/group", func(f []string) {
		if len(f) < 4 {
			return
		}
		gid, err := parseID(f[2])
		if err != nil {
			return
		}
		var members []string
		for _, m := range strings.Split(f[3], ",") {
			if m = strings.TrimSpace(m); m != "" {
				members = append(members, m)
			}
		}
		out = append(out, groupEntry{name: f[0], gid: gid, members: members})
	})
	return out, err
}

// readColonFile reads a passwd-style file of the image. It is opened with
// RESOLVE_IN_ROOT so a symlink planted in the image (/etc/passwd ->
// /host/path) resolves inside the rootfs, never on the host. A missing file
// is not an error: numeric users need no database.
func readColonFile(rootfs, name string, line func([]string)) error {
	root, err := os.Open(rootfs)
	if err != nil {
		return fmt.Errorf("rootfs %q: %w", rootfs, err)
	}
	defer root.Close()
	fd, err := unix.Openat2(int(root.Fd()), strings.TrimPrefix(name, "/"), &unix.OpenHow{
		Flags:   unix.O_RDONLY | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS,
	})
	if errors.Is(err, unix.ENOENT) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("open %s in rootfs %q: %w", name, rootfs, err)
	}
	f := os.NewFile(uintptr(fd), name)
	defer f.Close()
	r := bufio.NewReader(io.LimitReader(f, 16<<20))
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		t := strings.TrimSpace(sc.Text())
		if t == "" || strings.HasPrefix(t, "#") {
			continue
		}
		line(strings.Split(t, ":"))
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read %s in rootfs %q: %w", name, rootfs, err)
	}
	return nil
}
