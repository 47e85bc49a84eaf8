package sbom

import "testing"

func TestPURLs(t *testing.T) {
	d := Distro{ID: "debian", VersionID: "12"}
	for _, c := range []struct{ got, want string }{
		{DebPURL(d, Package{Name: "libcap2", Version: "1:2.66-4+deb12u3+b1", Arch: "amd64", Source: "libcap2", SourceVersion: "1:2.66-4+deb12u3"}),
			"pkg:deb/debian/libcap2@1:2.66-4+deb12u3+b1?arch=amd64&upstream=libcap2%401%3A2.66-4%2Bdeb12u3&distro=debian-12"},
		{DebPURL(Distro{}, Package{Name: "x", Version: "1", Arch: "all"}), "pkg:deb/debian/x@1?arch=all"},
		{GoPURL("github.com/BurntSushi/toml", "v1.3.2"), "pkg:golang/github.com/BurntSushi/toml@v1.3.2"},
		{GoPURL("github.com/docker/docker", "v24.0.7+incompatible"), "pkg:golang/github.com/docker/docker@v24.0.7+incompatible"},
		{GoPURL("example.com/app", "(devel)"), "pkg:golang/example.com/app"},
		{StdlibPURL("go1.22.3"), "pkg:golang/stdlib@1.22.3"},
		{OCIPURL(&Inventory{Name: "127.0.0.1:5000/team/App:v1", Digest: "sha256:ab"}), "pkg:oci/app@sha256%3Aab"},
	} {
		if c.got != c.want {
			t.Errorf("got  %s\nwant %s", c.got, c.want)
		}
	}
}
