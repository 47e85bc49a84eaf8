package source

import (
	"archive/tar"
	"context"
	"strings"
	"testing"
)

func TestUsers(t *testing.T) {
	u, err := NewUsers(UsersOptions{
		Users:  []User{{Name: "nonroot", UID: 65532, GID: 65532, Home: "/home/nonroot", Shell: "/sbin/nologin"}, {Name: "app", UID: 1000, GID: 1000}},
		Groups: []Group{{Name: "nonroot", GID: 65532}, {Name: "staff", GID: 50, Members: []string{"app", "nonroot"}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	passwd, _, _, _, _ := readEntry(t, u, "etc/passwd")
	wantPasswd := `root:x:0:0:root:/root:/sbin/nologin
app:x:1000:1000::/home/app:/sbin/nologin
nonroot:x:65532:65532::/home/nonroot:/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin
`
	if passwd != wantPasswd {
		t.Fatalf("passwd:\n%s\nwant:\n%s", passwd, wantPasswd)
	}
	group, mode, _, _, _ := readEntry(t, u, "etc/group")
	wantGroup := "root:x:0:\nstaff:x:50:app,nonroot\nnonroot:x:65532:\nnobody:x:65534:\n"
	if group != wantGroup || mode != 0o644 {
		t.Fatalf("group (%o):\n%s\nwant:\n%s", mode, group, wantGroup)
	}
	tr, _ := u.Tree(context.Background())
	for p, want := range map[string][3]int{"root": {0o700, 0, 0}, "home": {0o755, 0, 0}, "home/nonroot": {0o700, 65532, 65532}, "home/app": {0o700, 1000, 1000}} {
		e, ok := tr.Get(p)
		if !ok || e.Type != tar.TypeDir || int(e.Mode) != want[0] || e.UID != want[1] || e.GID != want[2] {
			t.Errorf("%s: %+v, want mode %o owner %d:%d", p, e, want[0], want[1], want[2])
		}
	}
	if _, ok := tr.Get("nonexistent"); ok {
		t.Error("nobody's /nonexistent was created")
	}
}

func TestUsersErrors(t *testing.T) {
	cases := []struct {
		o    UsersOptions
		want string
	}{
		{UsersOptions{Users: []User{{Name: "Bad", UID: 1}}}, `"Bad"`},
		{UsersOptions{Users: []User{{Name: "9lives", UID: 1}}}, `"9lives"`},
		{UsersOptions{Users: []User{{Name: "a", UID: 1}, {Name: "a", UID: 2}}}, `duplicate user name "a"`},
		{UsersOptions{Users: []User{{Name: "a", UID: 1}, {Name: "b", UID: 1}}}, `uid 1 already used by "a"`},
		{UsersOptions{Groups: []Group{{Name: "g", GID: 5}, {Name: "h", GID: 5}}}, `gid 5 already used by "g"`},
		{UsersOptions{Groups: []Group{{Name: "g", GID: 5}, {Name: "g", GID: 6}}}, `duplicate group name "g"`},
		{UsersOptions{Users: []User{{Name: "a", UID: 1, Gecos: "x:y"}}}, "':'"},
		{UsersOptions{Users: []User{{Name: "a", UID: 1, Home: "home/a"}}}, "absolute"},
		{UsersOptions{Users: []User{{Name: "a", UID: -1}}}, "out of range"},
	}
	for _, c := range cases {
		_, err := NewUsers(c.o)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want %q", c.o, err, c.want)
		}
	}
}

func TestUsersKey(t *testing.T) {
	a, _ := NewUsers(UsersOptions{Users: []User{{Name: "a", UID: 1}, {Name: "b", UID: 2}}})
	b, _ := NewUsers(UsersOptions{Users: []User{{Name: "b", UID: 2}, {Name: "a", UID: 1}}})
	c, _ := NewUsers(UsersOptions{Users: []User{{Name: "a", UID: 1}, {Name: "b", UID: 3}}})
	if key(t, a) != key(t, b) {
		t.Fatal("declaration order changed the key (the files are sorted)")
	}
	if key(t, a) == key(t, c) {
		t.Fatal("uid not in the key")
	}
}
