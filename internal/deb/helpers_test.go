package deb

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/clearsign"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
)

// tarEntry is one entry of a tar built by makeTar.
type tarEntry struct {
	name, body, link string
	typ              byte
}

func makeTar(t testing.TB, entries []tarEntry) []byte {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, e := range entries {
		typ := e.typ
		if typ == 0 {
			typ = tar.TypeReg
		}
		hdr := &tar.Header{Name: e.name, Typeflag: typ, Mode: 0o644, Size: int64(len(e.body)), Linkname: e.link, Format: tar.FormatGNU}
		if typ != tar.TypeReg {
			hdr.Size = 0
		}
		if typ == tar.TypeDir {
			hdr.Mode = 0o755
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if typ == tar.TypeReg {
			tw.Write([]byte(e.body))
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func compress(t testing.TB, ext string, data []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	switch ext {
	case "":
		return data
	case ".gz":
		w := gzip.NewWriter(&b)
		w.Write(data)
		w.Close()
	case ".xz":
		w, err := xz.NewWriter(&b)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(data)
		w.Close()
	case ".zst":
		w, err := zstd.NewWriter(&b)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(data)
		w.Close()
	default:
		t.Fatalf("unknown compression %q", ext)
	}
	return b.Bytes()
}

// arMember is one member of an ar archive.
type arMember struct {
	name string
	data []byte
}

func makeAr(members ...arMember) []byte {
	var b bytes.Buffer
	b.WriteString("!<arch>\n")
	for _, m := range members {
		fmt.Fprintf(&b, "%-16s%-12d%-6d%-6d%-8s%-10d`\n", m.name, 0, 0, 0, "100644", len(m.data))
		b.Write(m.data)
		if len(m.data)%2 == 1 {
			b.WriteByte('\n')
		}
	}
	return b.Bytes()
}

// makeDeb builds a .deb with a control file, md5sums and data entries; ext
// is the compression of both tar members.
func makeDeb(t testing.TB, control string, data []tarEntry, ext string) []byte {
	t.Helper()
	ctl := makeTar(t, []tarEntry{
		{name: "./", typ: tar.TypeDir},
		{name: "./control", body: control},
		{name: "./md5sums", body: "d41d8cd98f00b204e9800998ecf8427e  usr/share/doc/x\n"},
		{name: "./postinst", body: "#!/bin/sh\nexit 1\n"},
	})
	return makeAr(
		arMember{"debian-binary", []byte("2.0\n")},
		arMember{"control.tar" + ext, compress(t, ext, ctl)},
		arMember{"data.tar" + ext, compress(t, ext, makeTar(t, data))},
	)
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func writeFile(t testing.TB, name string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(name, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func newKey(t testing.TB, name string) *openpgp.Entity {
	t.Helper()
	e, err := openpgp.NewEntity(name, "", name+"@berth.invalid", &packet.Config{Algorithm: packet.PubKeyAlgoEdDSA})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// writeKeyring stores the public key, binary or armored.
func writeKeyring(t testing.TB, name string, e *openpgp.Entity, armored bool) {
	t.Helper()
	var b bytes.Buffer
	if armored {
		w, err := armor.Encode(&b, openpgp.PublicKeyType, nil)
		if err != nil {
			t.Fatal(err)
		}
		e.Serialize(w)
		w.Close()
	} else if err := e.Serialize(&b); err != nil {
		t.Fatal(err)
	}
	writeFile(t, name, b.Bytes())
}

// testRepo is a small signed repository on disk:
// suite "stable", component main, binary-amd64 (xz + gz) and binary-all (plain).
type testRepo struct {
	root string
	key  *openpgp.Entity
	debs map[string][]byte // pool path → content
}

func (r *testRepo) dists() string { return filepath.Join(r.root, "dists", "stable") }

func newTestRepo(t testing.TB) *testRepo {
	t.Helper()
	r := &testRepo{root: t.TempDir(), key: newKey(t, "repo"), debs: map[string][]byte{}}
	type pkg struct{ name, version, arch, deps string }
	pkgs := []pkg{
		{"hello", "2.10-3", "amd64", "libc6 (>= 2.34)"},
		{"libc6", "2.36-9", "amd64", ""},
		{"hello-data", "1.0", "all", ""},
	}
	var amd64, all strings.Builder
	for _, p := range pkgs {
		control := fmt.Sprintf("Package: %s\nVersion: %s\nArchitecture: %s\nMaintainer: Test <t@example.com>\nDescription: test package %s\n", p.name, p.version, p.arch, p.name)
		if p.deps != "" {
			control += "Depends: " + p.deps + "\n"
		}
		deb := makeDeb(t, control, []tarEntry{
			{name: "./", typ: tar.TypeDir},
			{name: "./usr/", typ: tar.TypeDir},
			{name: "./usr/share/", typ: tar.TypeDir},
			{name: "./usr/share/" + p.name + ".txt", body: p.name + " " + p.version + "\n"},
		}, ".xz")
		pool := fmt.Sprintf("pool/main/%s_%s_%s.deb", p.name, p.version, p.arch)
		if p.name == "libc6" {
			// how apt-get download names a file of a version with an epoch
			pool = fmt.Sprintf("pool/main/%s_0%%3a%s_%s.deb", p.name, p.version, p.arch)
		}
		r.debs[pool] = deb
		writeFile(t, filepath.Join(r.root, pool), deb)
		rec := control + fmt.Sprintf("Filename: %s\nSize: %d\nSHA256: %s\n\n", pool, len(deb), sha256Hex(deb))
		amd64.WriteString(rec)
		if p.arch == "all" {
			all.WriteString(rec)
		}
	}
	writeFile(t, filepath.Join(r.dists(), "main/binary-amd64/Packages.xz"), compress(t, ".xz", []byte(amd64.String())))
	writeFile(t, filepath.Join(r.dists(), "main/binary-amd64/Packages.gz"), compress(t, ".gz", []byte(amd64.String())))
	writeFile(t, filepath.Join(r.dists(), "main/binary-all/Packages"), []byte(all.String()))
	r.writeRelease(t, "")
	return r
}

// writeRelease (re)writes Release, InRelease and Release.gpg from the index
// files on disk; extra is appended to the Release paragraph.
func (r *testRepo) writeRelease(t testing.TB, extra string) {
	t.Helper()
	var files []string
	filepath.Walk(filepath.Join(r.dists(), "main"), func(p string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			rel, _ := filepath.Rel(r.dists(), p)
			files = append(files, filepath.ToSlash(rel))
		}
		return nil
	})
	sort.Strings(files)
	var rel strings.Builder
	rel.WriteString("Origin: test\nSuite: stable\nCodename: bookworm\nDate: Sat, 17 May 2025 09:09:48 UTC\nArchitectures: amd64 all\nComponents: main\n" + extra + "SHA256:\n")
	for _, f := range files {
		data, err := os.ReadFile(filepath.Join(r.dists(), f))
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&rel, " %s %d %s\n", sha256Hex(data), len(data), f)
	}
	release := []byte(rel.String())
	writeFile(t, filepath.Join(r.dists(), "Release"), release)
	var in bytes.Buffer
	w, err := clearsign.Encode(&in, r.key.PrivateKey, nil)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(release)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(r.dists(), "InRelease"), in.Bytes())
	var sig bytes.Buffer
	if err := openpgp.ArmoredDetachSign(&sig, r.key, bytes.NewReader(release), nil); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(r.dists(), "Release.gpg"), sig.Bytes())
}
