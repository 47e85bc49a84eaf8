package daemon

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"

	"github.com/berth-dev/berth/internal/model"
)

func statOwner(t *testing.T, p string) (uid, gid uint32, mode os.FileMode) {
	t.Helper()
	fi, err := os.Lstat(p)
	if err != nil {
		t.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	return st.Uid, st.Gid, fi.Mode()
}

func TestSecretsMountsOwnersModesTargets(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("chown needs root")
	}
	src := t.TempDir()
	val := filepath.Join(src, "v")
	if err := os.WriteFile(val, []byte("s3cret"), 0o600); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	// A link planted where a secret goes is replaced, not followed.
	outside := filepath.Join(src, "outside")
	os.MkdirAll(filepath.Join(dir, "run"), 0o755)
	if err := os.Symlink(outside, filepath.Join(dir, "run", "token")); err != nil {
		t.Fatal(err)
	}
	ms, err := secretsMounts(dir, []model.Secret{
		{Name: "token", File: val, UID: 1000, GID: 1001, Mode: 0o440},
		{Name: "pem", Target: "/etc/app/key.pem", File: val},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 2 || ms[0].Destination != "/run/secrets" || ms[0].Source != filepath.Join(dir, "run") ||
		ms[1].Destination != "/etc/app/key.pem" || !ms[0].ReadOnly || !ms[1].ReadOnly {
		t.Fatalf("mounts %+v", ms)
	}
	if _, err := os.Lstat(outside); err == nil {
		t.Error("the secret was written through a planted symlink")
	}
	if u, g, m := statOwner(t, filepath.Join(dir, "run", "token")); u != 1000 || g != 1001 || m != 0o440 {
		t.Errorf("token: %d:%d %v, want 1000:1001 0440", u, g, m)
	}
	if u, g, m := statOwner(t, ms[1].Source); u != 0 || g != 0 || m != 0o400 {
		t.Errorf("pem: %d:%d %v, want 0:0 0400 (the default)", u, g, m)
	}
	if _, _, m := statOwner(t, filepath.Join(dir, "run")); m.Perm() != 0o755 {
		t.Errorf("/run/secrets root mode %v: a non-root user could not look its secret up", m)
	}

	for _, bad := range []model.Secret{
		{Name: "a", Target: "../x", File: val},
		{Name: "a", Target: "sub/x", File: val},
		{Name: "a", Target: "/etc/../x", File: val},
		{Name: "a", Target: "/", File: val},
		{Name: "a", File: val, Mode: 0o4755},
		{Name: "a", File: src}, // a directory
		{Name: "a", File: "relative"},
	} {
		if _, err := secretsMounts(t.TempDir(), []model.Secret{bad}); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}

func TestConfigsMountsContentFileOwnerMode(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("chown needs root")
	}
	src := filepath.Join(t.TempDir(), "site.conf")
	if err := os.WriteFile(src, []byte("listen 80;\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "configs")
	ms, err := configsMounts(dir, []model.Config{
		{Name: "inline", Target: "/etc/app.conf", Content: "level=debug", UID: 101, Mode: 0o440},
		{Name: "site", Target: "/site", File: src},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 2 || ms[0].Destination != "/etc/app.conf" || ms[1].Destination != "/site" || !ms[0].ReadOnly {
		t.Fatalf("mounts %+v", ms)
	}
	for i, want := range []string{"level=debug", "listen 80;\n"} {
		if raw, _ := os.ReadFile(ms[i].Source); string(raw) != want {
			t.Errorf("config %d holds %q, want %q", i, raw, want)
		}
	}
	if u, g, m := statOwner(t, ms[0].Source); u != 101 || g != 0 || m != 0o440 {
		t.Errorf("inline: %d:%d %v", u, g, m)
	}
	if _, _, m := statOwner(t, ms[1].Source); m != 0o444 {
		t.Errorf("site: mode %v, want 0444 (the default)", m)
	}
	if _, err := configsMounts(dir, []model.Config{{Name: "x", Target: "etc/x", Content: "a"}}); err == nil || !strings.Contains(err.Error(), "config x") {
		t.Errorf("relative target: %v", err)
	}
}

func TestTmpfsOptions(t *testing.T) {
	got, err := tmpfsOptions(model.Mount{Target: "/t", TmpfsSize: 1 << 20, TmpfsMode: 0o1770})
	if err != nil || !reflect.DeepEqual(got, []string{"size=1048576", "mode=1770"}) {
		t.Errorf("%v %v", got, err)
	}
	if got, err := tmpfsOptions(model.Mount{Target: "/t"}); err != nil || got != nil {
		t.Errorf("defaults: %v %v", got, err)
	}
	for _, bad := range []model.Mount{{Target: "/t", TmpfsSize: -1}, {Target: "/t", TmpfsMode: 0o17777}} {
		if _, err := tmpfsOptions(bad); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}
