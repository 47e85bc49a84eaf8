package sbom

import (
	"archive/tar"
	"bufio"
	"bytes"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// FilesKind is the history comment berth writes for a files layer (the
// layer kind of berth.yaml).
const FilesKind = "files"

// Limits on what Scan buffers from an image.
const (
	maxMetadata = 4 << 20   // a status record, copyright file or os-release
	maxBinary   = 512 << 20 // a Go binary whose build info is read
)

// Scan computes the inventory of img; name is a human name for it (a
// reference or berth.yaml's image name). Only regular files are ever
// read.
func Scan(img v1.Image, name string) (*Inventory, error) {
	d, err := img.Digest()
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	layers, err := img.Layers()
	if err != nil {
		return nil, err
	}
	kinds := layerKinds(cf, len(layers))
	scans, err := scanLayers(layers, func(i int, hdr *tar.Header, p string, r io.Reader) (*finding, error) {
		return inspectEntry(kinds[i] == FilesKind, hdr, p, r)
	})
	if err != nil {
		return nil, err
	}
	s := &scanner{docLinks: map[string]string{}, copyright: map[string][]byte{}, osRelease: map[string][]byte{}}
	visible(scans, s.use)
	inv := &Inventory{Digest: d.String(), Name: name, Created: cf.Created.Time.UTC(), OS: cf.OS, Arch: cf.Architecture, Files: s.files}
	inv.Distro = s.distro()
	debs, err := s.debPackages(inv.Distro)
	if err != nil {
		return nil, err
	}
	inv.Packages = append(debs, s.golang...)
	sortPackages(inv.Packages)
	sort.Slice(inv.Files, func(i, j int) bool { return inv.Files[i].Path < inv.Files[j].Path })
	if inv.Packages == nil {
		inv.Packages = []Package{}
	}
	if inv.Files == nil {
		inv.Files = []File{}
	}
	return inv, nil
}

// layerKinds maps each layer to its history comment (berth writes the
// layer kind there); "" where the history says nothing.
func layerKinds(cf *v1.ConfigFile, n int) []string {
	kinds := make([]string, n)
	i := 0
	for _, h := range cf.History {
		if h.EmptyLayer {
			continue
		}
		if i >= n {
			break
		}
		if strings.HasPrefix(h.CreatedBy, "berth: ") {
			kinds[i] = h.Comment
		}
		i++
	}
	return kinds
}

type scanner struct {
	status    []statusFile
	copyright map[string][]byte // doc dir name → copyright file
	docLinks  map[string]string // doc dir name → the doc dir it links to
	osRelease map[string][]byte
	golang    []Package
	files     []File
}

type statusFile struct {
	path string
	data []byte
}

const docDir = "usr/share/doc/"

// finding is what an entry contributes to the inventory.
type finding struct {
	kind   findingKind
	data   []byte    // status, copyright, os-release
	link   string    // a doc directory's symlink target
	golang []Package // a Go binary's modules
	file   *File     // a file of a files layer
}

type findingKind int

const (
	foundStatus findingKind = iota
	foundCopyright
	foundOSRelease
	foundDocLink
	foundBinary
	foundFile
)

// use adds a visible entry's finding to the inventory.
func (s *scanner) use(p string, f *finding) {
	switch f.kind {
	case foundStatus:
		s.status = append(s.status, statusFile{path: p, data: f.data})
	case foundCopyright:
		s.copyright[path.Base(path.Dir(p))] = f.data
	case foundOSRelease:
		s.osRelease[p] = f.data
	case foundDocLink:
		s.docLinks[strings.TrimPrefix(p, docDir)] = f.link
	}
	s.golang = append(s.golang, f.golang...)
	if f.file != nil {
		s.files = append(s.files, *f.file)
	}
}

// inspectEntry reads what the inventory needs from one layer entry:
// dpkg status data, copyright files, os-release, Go binaries' build info
// and, in a files layer, every regular file's digests. Only regular files
// are read.
func inspectEntry(filesLayer bool, hdr *tar.Header, p string, r io.Reader) (*finding, error) {
	switch hdr.Typeflag {
	case tar.TypeSymlink:
		if rest, ok := strings.CutPrefix(p, docDir); ok && !strings.Contains(rest, "/") {
			return &finding{kind: foundDocLink, link: hdr.Linkname}, nil
		}
		return nil, nil
	case tar.TypeReg:
	default:
		return nil, nil // never read a non-regular file
	}
	metadata := func(k findingKind) (*finding, error) {
		data, err := readLimited(r, maxMetadata, p)
		if err != nil {
			return nil, err
		}
		return &finding{kind: k, data: data}, nil
	}
	switch {
	case p == "var/lib/dpkg/status" || strings.HasPrefix(p, "var/lib/dpkg/status.d/") && !strings.HasSuffix(p, ".md5sums"):
		return metadata(foundStatus)
	case strings.HasPrefix(p, docDir) && strings.HasSuffix(p, "/copyright") && strings.Count(p[len(docDir):], "/") == 1:
		return metadata(foundCopyright)
	case p == "etc/os-release" || p == "usr/lib/os-release":
		return metadata(foundOSRelease)
	}
	var f *finding
	var sha256h, sha1h hashPair
	if filesLayer {
		sha256h, sha1h = hashPair{h: sha256.New()}, hashPair{h: sha1.New()}
		r = io.TeeReader(r, io.MultiWriter(sha256h.h, sha1h.h))
	}
	if hdr.Mode&0o111 != 0 && hdr.Size >= 4 && hdr.Size <= maxBinary {
		br := bufio.NewReaderSize(r, 4096)
		if magic, _ := br.Peek(4); bytes.Equal(magic, []byte("\x7fELF")) {
			data := make([]byte, hdr.Size) // sized once: no growth and copying
			if _, err := io.ReadFull(br, data); err != nil {
				return nil, fmt.Errorf("%s: %w", p, err)
			}
			if pkgs := goPackages(p, data); len(pkgs) > 0 {
				f = &finding{kind: foundBinary, golang: pkgs}
			}
		}
		r = br
	}
	if filesLayer {
		if _, err := io.Copy(io.Discard, r); err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		if f == nil {
			f = &finding{kind: foundFile}
		}
		f.file = &File{Path: "/" + p, Size: hdr.Size, SHA256: sha256h.hex(), SHA1: sha1h.hex()}
	}
	return f, nil
}

type hashPair struct {
	h interface {
		io.Writer
		Sum([]byte) []byte
	}
}

func (h hashPair) hex() string { return hex.EncodeToString(h.h.Sum(nil)) }

func readLimited(r io.Reader, limit int64, p string) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s: larger than %d bytes", p, limit)
	}
	return data, nil
}

// distro reads os-release (etc/os-release, which may link to
// usr/lib/os-release, then usr/lib/os-release) for ID and VERSION_ID.
func (s *scanner) distro() Distro {
	data, ok := s.osRelease["etc/os-release"]
	if !ok {
		data = s.osRelease["usr/lib/os-release"]
	}
	var d Distro
	for _, line := range strings.Split(string(data), "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), "=")
		if !ok {
			continue
		}
		v = strings.Trim(v, `"'`)
		switch k {
		case "ID":
			d.ID = v
		case "VERSION_ID":
			d.VersionID = v
		}
	}
	return d
}

func sortPackages(ps []Package) {
	sort.SliceStable(ps, func(i, j int) bool {
		a, b := ps[i], ps[j]
		if a.Kind != b.Kind {
			return a.Kind < b.Kind
		}
		if a.Location != b.Location && a.Kind == KindGolang {
			return a.Location < b.Location
		}
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		if a.Version != b.Version {
			return a.Version < b.Version
		}
		return a.Location < b.Location
	})
}
