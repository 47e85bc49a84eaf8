package deb

import (
	"fmt"
	"strings"
	"testing"
)

// idx builds an index from compact records: "name version arch; Depends; Provides; Pre-Depends".
func idx(t *testing.T, repo string, recs ...string) *Index {
	t.Helper()
	ix := NewIndex()
	var b strings.Builder
	for i, r := range recs {
		parts := strings.Split(r, ";")
		head := strings.Fields(parts[0])
		fmt.Fprintf(&b, "Package: %s\nVersion: %s\nArchitecture: %s\nFilename: pool/%d.deb\nSize: 1\nSHA256: %064d\n", head[0], head[1], head[2], i, i)
		for j, field := range []string{"Depends", "Provides", "Pre-Depends"} {
			if len(parts) > j+1 && strings.TrimSpace(parts[j+1]) != "" {
				fmt.Fprintf(&b, "%s: %s\n", field, strings.TrimSpace(parts[j+1]))
			}
		}
		b.WriteString("\n")
	}
	pkgs, err := ParsePackages(strings.NewReader(b.String()), repo)
	if err != nil {
		t.Fatal(err)
	}
	ix.Add(repo, pkgs...)
	return ix
}

func names(pkgs []*Package) string {
	var s []string
	for _, p := range pkgs {
		s = append(s, p.Name+"="+p.Version)
	}
	return strings.Join(s, " ")
}

func TestResolve(t *testing.T) {
	ix := idx(t, "bookworm",
		"app 1.0 amd64; libc6 (>= 2.30), data, mta | mail-transport-agent",
		"app 2.0 amd64; libc6 (>= 2.40)", // unsatisfiable: the highest must not be forced on a pinned want
		"libc6 2.36-9 amd64; libgcc-s1",
		"libc6 2.31-1 amd64; libgcc-s1",
		"libgcc-s1 12.2 amd64; libc6 (>= 2.14)", // cycle with libc6
		"data 5 all",
		"data 6 arm64", // other arch: ignored
		"postfix 3.7 amd64; libc6; mail-transport-agent",
		"exim4 4.96 amd64; ; mail-transport-agent",
		"mta 1 all; exim4", // real package named in the first alternative
		"py 3.11 amd64",
		"tool 1 amd64; py:any (>= 3.9), awk",
		"mawk 1.3 amd64; ; awk",
		"gawk 5.2 amd64; ; awk",
		"vapp 1 all; libvirt (>= 2)",
		"libvirt-impl-a 1 amd64; ; libvirt (= 1)",
		"libvirt-impl-b 1 amd64; ; libvirt (= 3)",
		"libvirt-unversioned 1 amd64; ; libvirt",
		"early 1 amd64; ; ; base (>= 1)",
		"base 1 all",
		"solo 1 all; ; lonely",
	)
	cases := []struct {
		want []string
		out  string
	}{
		{[]string{"app=1.0"}, "app=1.0 data=5 exim4=4.96 libc6=2.36-9 libgcc-s1=12.2 mta=1"},
		// tool: py:any from amd64, awk virtual → first provider by name (gawk)
		{[]string{"tool"}, "gawk=5.2 py=3.11 tool=1"},
		// an already chosen provider wins
		{[]string{"mawk", "tool"}, "mawk=1.3 py=3.11 tool=1"},
		// versioned virtual: only a versioned provide that satisfies counts
		{[]string{"vapp"}, "libvirt-impl-b=1 vapp=1"},
		// Pre-Depends are followed
		{[]string{"early"}, "base=1 early=1"},
		// wanting a virtual package with one provider picks it
		{[]string{"lonely"}, "solo=1"},
		// …and one already wanted satisfies it
		{[]string{"exim4", "mail-transport-agent"}, "exim4=4.96"},
		// pinned older version
		{[]string{"libc6=2.31-1"}, "libc6=2.31-1 libgcc-s1=12.2"},
	}
	for _, c := range cases {
		got, err := ix.Resolve(c.want, "amd64")
		if err != nil {
			t.Errorf("Resolve(%v): %v", c.want, err)
			continue
		}
		if names(got) != c.out {
			t.Errorf("Resolve(%v) = %s\n want %s", c.want, names(got), c.out)
		}
	}
}

// In an OR-group, a package that something else pulls in later is preferred
// over choosing the first alternative right away.
func TestResolveDefersAlternatives(t *testing.T) {
	ix := idx(t, "r",
		"top 1 all; aa | bb, cc",
		"aa 1 all",
		"bb 1 all",
		"cc 1 all; bb",
	)
	got, err := ix.Resolve([]string{"top"}, "amd64")
	if err != nil {
		t.Fatal(err)
	}
	if names(got) != "bb=1 cc=1 top=1" {
		t.Errorf("got %s, want bb cc top (bb is pulled by cc, so it satisfies aa | bb)", names(got))
	}
}

func TestResolveDeterministic(t *testing.T) {
	ix := idx(t, "r",
		"xx 1 all; p1 | p2, vv",
		"p1 1 all", "p2 1 all",
		"qq 1 all; ; vv", "rr 1 all; ; vv", "ss 1 all; ; vv",
	)
	first, err := ix.Resolve([]string{"xx"}, "amd64")
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 50; i++ {
		again, err := ix.Resolve([]string{"xx"}, "amd64")
		if err != nil || names(again) != names(first) {
			t.Fatalf("run %d: %s vs %s (%v)", i, names(again), names(first), err)
		}
	}
	if names(first) != "p1=1 qq=1 xx=1" {
		t.Errorf("got %s", names(first))
	}
}

func TestResolveErrors(t *testing.T) {
	ix := idx(t, "bookworm",
		"nginx-light 1.22 all; libfoo (>= 2)",
		"libfoo 1.0 amd64",
		"web 1 all; nginx-light",
		"alt 1 all; nope | libfoo (>= 3)",
		"armonly 1 arm64",
		"needsarm 1 all; armonly",
		"aa 1 all; libfoo (= 1.0)",
		"bb 1 all; libfoo (<< 1.0)",
		"qual 1 all; libfoo:arm64",
		"p1 1 all; ; virt", "p2 1 all; ; virt",
	)
	cases := []struct {
		want []string
		msg  string
	}{
		{[]string{"foo"}, `package "foo" is not in any repository (bookworm)`},
		{[]string{"nginx-light"}, `nginx-light depends on libfoo (>= 2) but only 1.0 is available`},
		{[]string{"web"}, `nginx-light depends on libfoo (>= 2) but only 1.0 is available (chain: web → nginx-light)`},
		{[]string{"alt"}, `alt depends on nope | libfoo (>= 3) but none can be chosen: nope is not in any repository (bookworm); only 1.0 is available`},
		{[]string{"armonly"}, `package "armonly" is not available for architecture amd64 (only arm64)`},
		{[]string{"needsarm"}, `needsarm depends on armonly but armonly is only available for arm64, not amd64`},
		{[]string{"libfoo=9"}, `package "libfoo" has no version "9" (available: 1.0)`},
		{[]string{"aa", "bb"}, `bb depends on libfoo (<< 1.0) but libfoo 1.0 was already selected (required by aa)`},
		{[]string{"libfoo", "bb"}, `bb depends on libfoo (<< 1.0) but libfoo 1.0 was already selected (wanted)`},
		{[]string{"qual"}, `qual depends on libfoo:arm64`},
		{[]string{"virt"}, `package "virt" is virtual and provided by p1, p2; name one of them`},
		{[]string{"libfoo=1.0", "libfoo=2"}, `wanted at two versions`},
		{[]string{"Bad_Name"}, `wanted package "Bad_Name"`},
	}
	for _, c := range cases {
		_, err := ix.Resolve(c.want, "amd64")
		if err == nil || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("Resolve(%v) error = %v\n want it to contain %q", c.want, err, c.msg)
		}
	}
}

func TestIndexRepositoryPriority(t *testing.T) {
	ix := NewIndex()
	a := &Package{Name: "pkg", Version: "1", Architecture: "all", Repo: "first"}
	b := &Package{Name: "pkg", Version: "1", Architecture: "all", Repo: "second"}
	c := &Package{Name: "pkg", Version: "2", Architecture: "all", Repo: "second"}
	ix.Add("first", a)
	ix.Add("second", b, c)
	got := ix.Lookup("pkg")
	if len(got) != 2 || got[0] != c || got[1] != a {
		t.Fatalf("Lookup = %v", got)
	}
	if ix.Len() != 2 || strings.Join(ix.Repos(), ",") != "first,second" {
		t.Errorf("Len %d Repos %v", ix.Len(), ix.Repos())
	}
}
