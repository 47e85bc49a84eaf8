package build

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestLockfileRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "berth.lock")
	if l, err := ReadLockfile(path); err != nil || l != nil {
		t.Fatalf("missing lock file: %v, %v; want nil, nil", l, err)
	}
	pkg := func(name string) LockedPackage {
		return LockedPackage{Name: name, Version: "1.0", Architecture: "amd64", Repository: "bookworm",
			Filename: "pool/main/" + name + ".deb", SHA256: strings.Repeat("a", 64), Size: 42}
	}
	l := &Lockfile{}
	// Out of order on purpose: Write sorts layers and packages.
	l.Put(LockLayer{Image: "base", Layer: "os", Architecture: "amd64", Request: []string{"libc6"}, Repositories: []string{"bookworm"},
		Packages: []LockedPackage{pkg("libc6"), pkg("base-files")}})
	l.Put(LockLayer{Image: "app", Variant: "dev", Layer: "tools", Architecture: "amd64", Request: []string{"busybox"}, Repositories: []string{"bookworm"},
		Packages: []LockedPackage{pkg("busybox")}})
	if err := l.Write(path); err != nil {
		t.Fatal(err)
	}
	first, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	back, err := ReadLockfile(path)
	if err != nil {
		t.Fatal(err)
	}
	if back.Version != LockVersion || len(back.Layers) != 2 || back.Layers[0].Image != "app" || back.Layers[1].Packages[0].Name != "base-files" {
		t.Fatalf("read back %+v", back)
	}
	if !reflect.DeepEqual(back, l) {
		t.Errorf("round trip differs:\n%+v\n%+v", back, l)
	}
	// The same resolution always gives the same bytes.
	if err := back.Write(path); err != nil {
		t.Fatal(err)
	}
	if second, _ := os.ReadFile(path); string(second) != string(first) {
		t.Errorf("rewriting changed the file:\n%s\n%s", first, second)
	}
	if entries, _ := os.ReadDir(filepath.Dir(path)); len(entries) != 1 {
		t.Errorf("temp files left: %v", entries)
	}
}

func TestLockfileFindAndPut(t *testing.T) {
	l := &Lockfile{}
	ll := LockLayer{Image: "base", Layer: "os", Architecture: "amd64", Request: []string{"a", "b"}, Repositories: []string{"r"}}
	l.Put(ll)
	if got, ok := l.Find("base", "", "os", "amd64", []string{"a", "b"}, []string{"r"}); !ok || got.Layer != "os" {
		t.Fatalf("Find of the entry just put: %v %v", got, ok)
	}
	// An entry is current only for the same request and repositories.
	for _, c := range []struct {
		name           string
		variant, arch  string
		request, repos []string
	}{
		{"other packages", "", "amd64", []string{"a"}, []string{"r"}},
		{"other repositories", "", "amd64", []string{"a", "b"}, []string{"r", "s"}},
		{"other architecture", "", "arm64", []string{"a", "b"}, []string{"r"}},
		{"other variant", "dev", "amd64", []string{"a", "b"}, []string{"r"}},
	} {
		if _, ok := l.Find("base", c.variant, "os", c.arch, c.request, c.repos); ok {
			t.Errorf("%s: found a stale entry", c.name)
		}
	}
	// Put replaces the entry of the same layer instead of adding one.
	ll.Request = []string{"a"}
	l.Put(ll)
	if len(l.Layers) != 1 || !reflect.DeepEqual(l.Layers[0].Request, []string{"a"}) {
		t.Errorf("after replacing: %+v", l.Layers)
	}
	var none *Lockfile
	if _, ok := none.Find("base", "", "os", "amd64", nil, nil); ok {
		t.Error("a nil lock found an entry")
	}
}

func TestReadLockfileErrors(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct{ name, body, want string }{
		{"unknown field", `{"lockVersion": 1, "layers": [], "extra": 1}`, "unknown field"},
		{"not JSON", `lockVersion: 1`, "berth lock"},
		{"future version", `{"lockVersion": 2, "layers": []}`, "lockVersion 2 is not supported"},
	} {
		p := filepath.Join(dir, strings.ReplaceAll(c.name, " ", "-")+".lock")
		if err := os.WriteFile(p, []byte(c.body), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := ReadLockfile(p)
		if err == nil || !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want one naming %s and %q", c.name, err, p, c.want)
		}
	}
}

func TestLockfilePackages(t *testing.T) {
	l := &Lockfile{Layers: []LockLayer{
		{Layer: "a", Packages: []LockedPackage{{Name: "libc6"}, {Name: "zlib1g"}}},
		{Layer: "b"},
		{Layer: "c", Packages: []LockedPackage{{Name: "tzdata"}}},
	}}
	if n := l.Packages(); n != 3 {
		t.Errorf("Packages() = %d, want 3", n)
	}
}
