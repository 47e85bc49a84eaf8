package deb

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const testControl = "Package: tiny\nVersion: 1.0-1\nArchitecture: all\nMaintainer: T <t@example.com>\nDescription: tiny\n"

var testData = []tarEntry{
	{name: "./", typ: tar.TypeDir},
	{name: "./usr/", typ: tar.TypeDir},
	{name: "./usr/bin/", typ: tar.TypeDir},
	{name: "./usr/bin/tiny", body: "#!/bin/sh\necho tiny\n"},
	{name: "./usr/bin/tiny2", typ: tar.TypeLink, link: "./usr/bin/tiny"},
	{name: "./usr/bin/t", typ: tar.TypeSymlink, link: "/usr/bin/tiny"},
	{name: "./etc/../etc-ok", typ: tar.TypeDir}, // rejected: '..' element
}

type seenEntry struct{ name, link, body string }

func readAll(t *testing.T, deb []byte) (Paragraph, []byte, []seenEntry, error) {
	t.Helper()
	var seen []seenEntry
	ctl, md5, err := ReadDebFrom(bytes.NewReader(deb), func(hdr *tar.Header, r io.Reader) error {
		b, err := io.ReadAll(r)
		seen = append(seen, seenEntry{hdr.Name, hdr.Linkname, string(b)})
		return err
	})
	return ctl, md5, seen, err
}

func TestReadDebCompressions(t *testing.T) {
	for _, ext := range []string{"", ".gz", ".xz", ".zst"} {
		t.Run("data.tar"+ext, func(t *testing.T) {
			deb := makeDeb(t, testControl, testData[:6], ext)
			ctl, md5, seen, err := readAll(t, deb)
			if err != nil {
				t.Fatal(err)
			}
			if ctl.Get("Package") != "tiny" || ctl.Get("Version") != "1.0-1" {
				t.Errorf("control = %v", ctl)
			}
			if !strings.Contains(string(md5), "usr/share/doc/x") {
				t.Errorf("md5sums = %q", md5)
			}
			want := []seenEntry{
				{"usr", "", ""},
				{"usr/bin", "", ""},
				{"usr/bin/tiny", "", "#!/bin/sh\necho tiny\n"},
				{"usr/bin/tiny2", "usr/bin/tiny", ""},
				{"usr/bin/t", "/usr/bin/tiny", ""},
			}
			if len(seen) != len(want) {
				t.Fatalf("entries %+v", seen)
			}
			for i := range want {
				if seen[i] != want[i] {
					t.Errorf("entry %d = %+v, want %+v", i, seen[i], want[i])
				}
			}
		})
	}
}

func TestReadDebRejects(t *testing.T) {
	good := makeDeb(t, testControl, testData[:4], ".gz")
	ctlTar := compress(t, ".gz", makeTar(t, []tarEntry{{name: "./control", body: testControl}}))
	dataTar := compress(t, ".gz", makeTar(t, testData[:2]))
	cases := map[string][]byte{
		"'..' in path":            makeDeb(t, testControl, testData, ".gz"),
		"absolute path":           makeDeb(t, testControl, []tarEntry{{name: "/etc/passwd", body: "x"}}, ".gz"),
		"hard link":               makeDeb(t, testControl, []tarEntry{{name: "./a", typ: tar.TypeLink, link: "../../etc/shadow"}}, ".gz"),
		"no ar archive magic":     []byte("PK\x03\x04 this is a zip"),
		"first member is":         makeAr(arMember{"control.tar.gz", ctlTar}),
		"unsupported .deb format": makeAr(arMember{"debian-binary", []byte("3.0\n")}),
		"no data.tar member":      makeAr(arMember{"debian-binary", []byte("2.0\n")}, arMember{"control.tar.gz", ctlTar}),
		"data member before":      makeAr(arMember{"debian-binary", []byte("2.0\n")}, arMember{"data.tar.gz", dataTar}),
		"unsupported compression": makeAr(arMember{"debian-binary", []byte("2.0\n")}, arMember{"control.tar.lz4", ctlTar}),
		"no control file":         makeAr(arMember{"debian-binary", []byte("2.0\n")}, arMember{"control.tar.gz", dataTar}, arMember{"data.tar.gz", dataTar}),
		"truncated":               good[:len(good)-30],
		"unexpected member":       makeAr(arMember{"debian-binary", []byte("2.0\n")}, arMember{"evil", nil}),
	}
	for want, deb := range cases {
		_, _, _, err := readAll(t, deb)
		if err == nil {
			t.Errorf("%s: accepted", want)
			continue
		}
		if want != "truncated" && !strings.Contains(err.Error(), want) {
			t.Errorf("error = %v, want it to contain %q", err, want)
		}
	}
}

// Extension members ("_gpgorigin" etc.) are skipped; an odd-sized member is
// padded; the callback's error stops the walk.
func TestReadDebExtensionsAndCallbackError(t *testing.T) {
	ctlTar := compress(t, ".gz", makeTar(t, []tarEntry{{name: "control", body: testControl}}))
	deb := makeAr(
		arMember{"debian-binary", []byte("2.0\n")},
		arMember{"_gpgbuilder", []byte("odd")},
		arMember{"control.tar.gz", ctlTar},
		arMember{"data.tar", makeTar(t, testData[:4])},
	)
	_, _, seen, err := readAll(t, deb)
	if err != nil || len(seen) != 3 {
		t.Fatalf("err %v, %d entries", err, len(seen))
	}
	stop := io.ErrShortBuffer
	_, _, err = ReadDebFrom(bytes.NewReader(deb), func(*tar.Header, io.Reader) error { return stop })
	if err != stop {
		t.Errorf("callback error not returned: %v", err)
	}
}

// TestReadDebReal reads a real Debian package fetched with apt-get and
// compares with dpkg-deb's view of it.
func TestReadDebReal(t *testing.T) {
	dir := t.TempDir()
	deb := downloadRealDeb(t, dir, "netbase")
	var names []string
	ctl, md5, err := ReadDeb(deb, func(hdr *tar.Header, r io.Reader) error {
		names = append(names, hdr.Name)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if ctl.Get("Package") != "netbase" || ctl.Get("Architecture") != "all" {
		t.Errorf("control: %s", ctl.Bytes())
	}
	if !strings.Contains(string(md5), "etc/protocols") && !strings.Contains(string(md5), "usr/share/doc/netbase") {
		t.Errorf("md5sums: %q", md5)
	}
	if !slices.Contains(names, "etc/services") {
		t.Errorf("etc/services missing from %v", names)
	}
	dpkgDeb, err := exec.LookPath("dpkg-deb")
	if err != nil {
		t.Log("dpkg-deb not installed; skipping the cross-check")
		return
	}
	out, err := exec.Command(dpkgDeb, "--fsys-tarfile", deb).Output()
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	tr := tar.NewReader(bytes.NewReader(out))
	for {
		hdr, err := tr.Next()
		if err != nil {
			break
		}
		if c, _ := cleanEntryPath(hdr.Name); c != "" {
			want = append(want, c)
		}
	}
	if strings.Join(names, "\n") != strings.Join(want, "\n") {
		t.Errorf("entries differ from dpkg-deb:\n got %v\nwant %v", names, want)
	}
	field, err := exec.Command(dpkgDeb, "--field", deb, "Version").Output()
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(string(field)) != ctl.Get("Version") {
		t.Errorf("Version %q, dpkg-deb says %q", ctl.Get("Version"), field)
	}
}

// downloadRealDeb runs `apt-get download` into dir. Without apt (or its
// lists) the test is skipped, except under CI where it must work.
func downloadRealDeb(t *testing.T, dir, pkg string) string {
	t.Helper()
	fail := t.Skipf
	if os.Getenv("CI") != "" {
		fail = t.Fatalf
	}
	aptGet, err := exec.LookPath("apt-get")
	if err != nil {
		fail("apt-get not installed: cannot fetch a real .deb")
	}
	download := func() ([]byte, error) {
		cmd := exec.Command(aptGet, "download", "-q", "-o", "APT::Sandbox::User=root", pkg)
		cmd.Dir = dir
		return cmd.CombinedOutput()
	}
	out, err := download()
	if err != nil && os.Geteuid() == 0 {
		// a fresh machine has no package lists yet
		if upd, uerr := exec.Command(aptGet, "update", "-q").CombinedOutput(); uerr != nil {
			fail("apt-get update failed: %v\n%s", uerr, upd)
		}
		out, err = download()
	}
	if err != nil {
		fail("apt-get download %s failed (run apt-get update?): %v\n%s", pkg, err, out)
	}
	matches, _ := filepath.Glob(filepath.Join(dir, pkg+"_*.deb"))
	if len(matches) != 1 {
		t.Fatalf("apt-get download left %v", matches)
	}
	return matches[0]
}

func FuzzReadDeb(f *testing.F) {
	f.Add(makeDeb(f, testControl, testData[:6], ".gz"))
	f.Add(makeDeb(f, testControl, testData[:4], ""))
	f.Add([]byte("!<arch>\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		ReadDebFrom(bytes.NewReader(data), func(hdr *tar.Header, r io.Reader) error {
			if strings.HasPrefix(hdr.Name, "/") || strings.Contains("/"+hdr.Name+"/", "/../") || hdr.Name == "" {
				t.Fatalf("unsafe entry name %q passed", hdr.Name)
			}
			_, err := io.Copy(io.Discard, r)
			return err
		})
	})
}
