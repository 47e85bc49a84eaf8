package runtime

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
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
func resolveUser(ctx context.Context, rootfs, spec string) (resolvedUser, error) {
	userPart, groupPart, hasGroup := strings.Cut(spec, ":")
	if userPart == "" {
		userPart = "0"
	}
	if hasGroup && groupPart == "" {
		return resolvedUser{}, fmt.Errorf("user %q: empty group", spec)
	}
	passwd, err := readPasswd(ctx, rootfs)
	if err != nil {
		return resolvedUser{}, err
	}
	groups, err := readGroups(ctx, rootfs)
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

func readPasswd(ctx context.Context, rootfs string) ([]passwdEntry, error) {
	var out []passwdEntry
	err := readColonFile(ctx, rootfs, "/etc/passwd", func(f []string) {
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

func readGroups(ctx context.Context, rootfs string) ([]groupEntry, error) {
	var out []groupEntry
	err := readColonFile(ctx, rootfs, "/etc/group", func(f []string) {
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

// readColonFile reads a passwd-style file of the image with
// readFileInRoot: resolved inside the rootfs, a regular file only, at most
// maxRootFile bytes. A missing file is not an error: numeric users need no
// database.
func readColonFile(ctx context.Context, rootfs, name string, line func([]string)) error {
	b, err := readFileInRoot(ctx, rootfs, name, maxRootFile)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("user database: %w", err)
	}
	for _, t := range strings.Split(string(b), "\n") {
		t = strings.TrimSpace(t)
		if t == "" || strings.HasPrefix(t, "#") {
			continue
		}
		line(strings.Split(t, ":"))
	}
	return nil
}
