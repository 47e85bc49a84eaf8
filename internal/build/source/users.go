package source

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"

	"github.com/berth-dev/berth/internal/build/layer"
)

// User is one /etc/passwd account.
type User struct {
	Name     string
	UID, GID int
	Home     string // default /home/<name>
	Shell    string // default /sbin/nologin
	Gecos    string
}

// Group is one /etc/group entry.
type Group struct {
	Name    string
	GID     int
	Members []string
}

// UsersOptions configures an accounts layer.
type UsersOptions struct {
	Users  []User
	Groups []Group
}

// Users writes /etc/passwd and /etc/group (root, nobody and the declared
// accounts, sorted by id) and creates home directories, as distroless does.
// There is no /etc/shadow: accounts have no passwords.
type Users struct {
	users  []User
	groups []Group
}

var accountName = regexp.MustCompile(`^[a-z_][a-z0-9_-]*$`)

const maxID = 1<<31 - 1

// NewUsers validates o and adds root and nobody unless declared.
func NewUsers(o UsersOptions) (*Users, error) {
	var users []User
	byName, byID := map[string]bool{}, map[int]string{}
	for i, u := range o.Users {
		if !accountName.MatchString(u.Name) || len(u.Name) > 32 {
			return nil, fmt.Errorf("users[%d]: name %q: want ^[a-z_][a-z0-9_-]*$, at most 32 characters", i, u.Name)
		}
		if u.UID < 0 || u.UID > maxID || u.GID < 0 || u.GID > maxID {
			return nil, fmt.Errorf("users[%d] (%s): uid/gid %d:%d out of range", i, u.Name, u.UID, u.GID)
		}
		if byName[u.Name] {
			return nil, fmt.Errorf("users[%d]: duplicate user name %q", i, u.Name)
		}
		if other, ok := byID[u.UID]; ok {
			return nil, fmt.Errorf("users[%d] (%s): uid %d already used by %q", i, u.Name, u.UID, other)
		}
		if u.Home == "" {
			u.Home = "/home/" + u.Name
		}
		if u.Shell == "" {
			u.Shell = "/sbin/nologin"
		}
		if !strings.HasPrefix(u.Home, "/") || !strings.HasPrefix(u.Shell, "/") {
			return nil, fmt.Errorf("users[%d] (%s): home %q and shell %q must be absolute", i, u.Name, u.Home, u.Shell)
		}
		for _, f := range []string{u.Home, u.Shell, u.Gecos} {
			if strings.ContainsAny(f, ":\n") {
				return nil, fmt.Errorf("users[%d] (%s): %q contains ':' or a newline", i, u.Name, f)
			}
		}
		if u.Home != "/" && u.Home != "/nonexistent" {
			if _, err := layer.CleanPath(u.Home); err != nil {
				return nil, fmt.Errorf("users[%d] (%s): home: %w", i, u.Name, err)
			}
		}
		byName[u.Name], byID[u.UID] = true, u.Name
		users = append(users, u)
	}
	for _, d := range []User{
		{Name: "root", UID: 0, GID: 0, Gecos: "root", Home: "/root", Shell: "/sbin/nologin"},
		{Name: "nobody", UID: 65534, GID: 65534, Gecos: "nobody", Home: "/nonexistent", Shell: "/sbin/nologin"},
	} {
		if _, idTaken := byID[d.UID]; !byName[d.Name] && !idTaken {
			users = append(users, d)
		}
	}

	var groups []Group
	gByName, gByID := map[string]bool{}, map[int]string{}
	for i, g := range o.Groups {
		if !accountName.MatchString(g.Name) || len(g.Name) > 32 {
			return nil, fmt.Errorf("groups[%d]: name %q: want ^[a-z_][a-z0-9_-]*$, at most 32 characters", i, g.Name)
		}
		if g.GID < 0 || g.GID > maxID {
			return nil, fmt.Errorf("groups[%d] (%s): gid %d out of range", i, g.Name, g.GID)
		}
		if gByName[g.Name] {
			return nil, fmt.Errorf("groups[%d]: duplicate group name %q", i, g.Name)
		}
		if other, ok := gByID[g.GID]; ok {
			return nil, fmt.Errorf("groups[%d] (%s): gid %d already used by %q", i, g.Name, g.GID, other)
		}
		seen := map[string]bool{}
		for _, m := range g.Members {
			if !accountName.MatchString(m) {
				return nil, fmt.Errorf("groups[%d] (%s): member %q is not a valid user name", i, g.Name, m)
			}
			if seen[m] {
				return nil, fmt.Errorf("groups[%d] (%s): member %q listed twice", i, g.Name, m)
			}
			seen[m] = true
		}
		gByName[g.Name], gByID[g.GID] = true, g.Name
		groups = append(groups, g)
	}
	for _, d := range []Group{{Name: "root", GID: 0}, {Name: "nobody", GID: 65534}} {
		if _, idTaken := gByID[d.GID]; !gByName[d.Name] && !idTaken {
			groups = append(groups, d)
		}
	}
	sort.Slice(users, func(i, j int) bool { return users[i].UID < users[j].UID })
	sort.Slice(groups, func(i, j int) bool { return groups[i].GID < groups[j].GID })
	return &Users{users: users, groups: groups}, nil
}

// Key hashes the normalised accounts: the layer is a pure function of them.
func (u *Users) Key(context.Context) (string, error) {
	return newKey("users", struct {
		Users  []User
		Groups []Group
	}{u.users, u.groups}).sum()
}

// Tree returns /etc/passwd, /etc/group and the home directories.
func (u *Users) Tree(context.Context) (*layer.Tree, error) {
	var passwd, group bytes.Buffer
	for _, x := range u.users {
		fmt.Fprintf(&passwd, "%s:x:%d:%d:%s:%s:%s\n", x.Name, x.UID, x.GID, x.Gecos, x.Home, x.Shell)
	}
	for _, g := range u.groups {
		fmt.Fprintf(&group, "%s:x:%d:%s\n", g.Name, g.GID, strings.Join(g.Members, ","))
	}
	t := layer.NewTree()
	for _, f := range []struct {
		path string
		data []byte
	}{{"etc/passwd", passwd.Bytes()}, {"etc/group", group.Bytes()}} {
		data := f.data
		if err := t.Add(layer.Entry{Path: f.path, Type: tar.TypeReg, Mode: 0o644, Size: int64(len(data)),
			Open: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }}); err != nil {
			return nil, err
		}
	}
	for _, x := range u.users {
		if x.Home == "/" || x.Home == "/nonexistent" {
			continue
		}
		home, err := layer.CleanPath(x.Home)
		if err != nil {
			return nil, err
		}
		// Only the home itself belongs to the user; parents like /home
		// are 0755 root.
		if err := t.Add(layer.Entry{Path: home, Type: tar.TypeDir, Mode: 0o700, UID: x.UID, GID: x.GID}); err != nil {
			return nil, fmt.Errorf("user %s: home: %w", x.Name, err)
		}
	}
	return t, nil
}
