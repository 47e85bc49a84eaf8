package vuln

import (
	"archive/tar"
	"bytes"
	"context"
	"debug/buildinfo"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"

	"github.com/berth-dev/berth/internal/deb"
)

// PackageLister is the port `berth scan IMAGE` lists an image's packages
// through, as purls (the contract with the SBOM generator). The lead wires
// the SBOM generator; ImageLister is the built-in one.
type PackageLister interface {
	ListPackages(ctx context.Context, img v1.Image) ([]string, error)
}

// ImageLister reads the packages straight from the image's flattened
// filesystem: dpkg records (var/lib/dpkg/status and status.d/*, as berth,
// distroless and dpkg write them) and the Go build info of every ELF
// executable (modules and the Go toolchain as pkg:golang/stdlib). Only
// regular files are read.
type ImageLister struct{}

const (
	maxStatusFile = 64 << 20
	maxBinary     = 512 << 20
)

// ListPackages implements PackageLister.
func (ImageLister) ListPackages(ctx context.Context, img v1.Image) ([]string, error) {
	rc := mutate.Extract(img)
	defer rc.Close()
	tr := tar.NewReader(rc)
	var status [][]byte
	osRelease := map[string][]byte{}
	set := map[string]bool{}
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("reading image filesystem: %w", err)
		}
		if hdr.Typeflag != tar.TypeReg {
			continue // never follow links or read devices
		}
		p := strings.TrimPrefix(path.Clean("/"+hdr.Name), "/")
		switch {
		case isStatusFile(p):
			if hdr.Size > maxStatusFile {
				return nil, fmt.Errorf("%s: %d bytes, more than %d", p, hdr.Size, maxStatusFile)
			}
			b, err := io.ReadAll(tr)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", p, err)
			}
			status = append(status, b)
		case p == "etc/os-release" || p == "usr/lib/os-release":
			b, err := io.ReadAll(io.LimitReader(tr, 64<<10))
			if err != nil {
				return nil, fmt.Errorf("%s: %w", p, err)
			}
			osRelease[p] = b
		case hdr.Mode&0o111 != 0 && hdr.Size > 4 && hdr.Size <= maxBinary:
			var magic [4]byte
			if _, err := io.ReadFull(tr, magic[:]); err != nil {
				return nil, fmt.Errorf("%s: %w", p, err)
			}
			if string(magic[:]) != "\x7fELF" {
				continue
			}
			rest, err := io.ReadAll(tr)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", p, err)
			}
			for _, s := range goPurls(append(magic[:], rest...)) {
				set[s] = true
			}
		}
	}
	distro := "debian-12"
	for _, f := range []string{"etc/os-release", "usr/lib/os-release"} {
		if b, ok := osRelease[f]; ok {
			if d := distroOf(b); d != "" {
				distro = d
			}
			break
		}
	}
	for _, data := range status {
		purls, err := debPurls(data, distro)
		if err != nil {
			return nil, err
		}
		for _, s := range purls {
			set[s] = true
		}
	}
	out := make([]string, 0, len(set))
	for s := range set {
		out = append(out, s)
	}
	sort.Strings(out)
	return out, nil
}

func isStatusFile(p string) bool {
	if p == "var/lib/dpkg/status" {
		return true
	}
	dir, file := path.Split(p)
	return dir == deb.StatusDir+"/" && file != "" && !strings.HasSuffix(file, ".md5sums")
}

// distroOf reads ID and VERSION_ID of os-release ("debian-12").
func distroOf(b []byte) string {
	var id, ver string
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), "=")
		if !ok {
			continue
		}
		v = strings.Trim(v, `"'`)
		switch k {
		case "ID":
			id = v
		case "VERSION_ID":
			ver = v
		}
	}
	if id == "" || ver == "" {
		return ""
	}
	return id + "-" + ver
}

// debPurls turns dpkg records into purls, syft's way:
// pkg:deb/debian/NAME@VERSION?arch=ARCH&distro=debian-12[&upstream=SRC[@SRCVER]].
func debPurls(data []byte, distro string) ([]string, error) {
	var out []string
	err := deb.ParseParagraphs(bytes.NewReader(data), func(p deb.Paragraph) error {
		name, version := p.Get("Package"), p.Get("Version")
		if name == "" || version == "" {
			return nil
		}
		if st, ok := p.Lookup("Status"); ok {
			f := strings.Fields(st)
			if len(f) == 0 || f[len(f)-1] != "installed" {
				return nil
			}
		}
		q := map[string]string{"distro": distro}
		if a := p.Get("Architecture"); a != "" {
			q["arch"] = a
		}
		if src := strings.TrimSpace(p.Get("Source")); src != "" {
			sname, sver, _ := strings.Cut(src, " ")
			sver = strings.Trim(strings.TrimSpace(sver), "()")
			up := sname
			if sver != "" && sver != version {
				up += "@" + sver
			}
			if sname != name || up != sname {
				q["upstream"] = up
			}
		}
		out = append(out, Package{Type: "deb", Namespace: strings.SplitN(distro, "-", 2)[0], Name: name, Version: version, Qualifiers: q}.String())
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("dpkg status: %w", err)
	}
	return out, nil
}

// goPurls reads a Go binary's build info: its dependency modules (replaced
// ones by their replacement), the main module when it has a version, and
// the toolchain as pkg:golang/stdlib@1.22.3.
func goPurls(bin []byte) []string {
	bi, err := buildinfo.Read(bytes.NewReader(bin))
	if err != nil {
		return nil
	}
	var out []string
	if f := strings.Fields(strings.TrimPrefix(bi.GoVersion, "go")); len(f) > 0 {
		out = append(out, "pkg:golang/stdlib@"+escapePart(f[0])) // "go1.22.3 X:boringcrypto" → 1.22.3
	}
	add := func(path, version string) {
		if path == "" || version == "" || version == "(devel)" {
			return
		}
		out = append(out, "pkg:golang/"+escapePath(path)+"@"+escapePart(version))
	}
	add(bi.Main.Path, bi.Main.Version)
	for _, d := range bi.Deps {
		if d.Replace != nil {
			add(d.Replace.Path, d.Replace.Version)
			continue
		}
		add(d.Path, d.Version)
	}
	return out
}
