package vuln

import (
	"strings"
	"testing"
)

func TestParsePurl(t *testing.T) {
	p, err := ParsePurl("pkg:deb/debian/zlib1g@1:1.2.13.dfsg-1%2Bdeb12u1?arch=amd64&upstream=zlib%401%3A1.2.13.dfsg-1&distro=debian-12")
	if err != nil {
		t.Fatal(err)
	}
	if p.Type != "deb" || p.Namespace != "debian" || p.Name != "zlib1g" || p.Version != "1:1.2.13.dfsg-1+deb12u1" ||
		p.Qualifiers["upstream"] != "zlib@1:1.2.13.dfsg-1" || p.Qualifiers["distro"] != "debian-12" {
		t.Fatalf("ParsePurl = %+v", p)
	}
	g, err := ParsePurl("pkg:golang/golang.org/x/text@v0.3.7")
	if err != nil || g.DisplayName() != "golang.org/x/text" || g.Version != "v0.3.7" {
		t.Fatalf("ParsePurl(golang) = %+v, %v", g, err)
	}
	for _, bad := range []string{"", "deb/debian/x", "pkg:", "pkg:deb", "pkg:deb/", "pkg:deb/debian/x@%zz"} {
		if _, err := ParsePurl(bad); err == nil {
			t.Errorf("ParsePurl(%q) accepted", bad)
		}
	}
}

func FuzzParsePurl(f *testing.F) {
	for _, s := range []string{zlibOld, expatNew, libc6deb11, "pkg:golang/stdlib@1.22.3", "pkg:golang/golang.org/x/text@v0.3.7#sub", "pkg:npm/%40scope/x@1?a=b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParsePurl(s)
		if err != nil {
			return
		}
		// What String renders parses back to the same package.
		q, err := ParsePurl(p.String())
		if err != nil {
			t.Fatalf("ParsePurl(%q).String() = %q does not parse: %v", s, p.String(), err)
		}
		if q.Type != p.Type || q.Name != p.Name || q.Version != p.Version || !strings.EqualFold(q.Namespace, p.Namespace) {
			t.Fatalf("round trip of %q: %+v then %+v", s, p, q)
		}
		queryFor(p) // never panics
	})
}
