package inspect

import (
	"archive/tar"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"path"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Overlay whiteout conventions of the OCI image spec (layer.md).
const (
	whiteoutPrefix = ".wh."
	opaqueMarker   = ".wh..wh..opq"
)

// fsEntry is one filesystem object as a layer states it.
type fsEntry struct {
	Path     string // cleaned, relative: "usr/bin/env"
	Type     byte   // tar type flag
	Mode     int64  // permission bits incl. setuid/setgid/sticky
	UID, GID int
	Linkname string // symlink target as written; hardlink target cleaned like Path
	Size     int64
	Devmajor int64
	Devminor int64
	SHA256   string // regular files, when hashing was asked for
	Layer    int    // index of the layer that wrote it
	data     []byte // kept only for dpkg status files
}

// scannedLayer is everything one pass over a layer's tar yields.
type scannedLayer struct {
	index     int
	entries   []*fsEntry // non-whiteout entries, in tar order
	whiteouts []string   // paths removed from lower layers
	opaques   []string   // directories whose lower contents are hidden
	files     int        // regular files (whiteout markers excluded)
	inodes    int        // all tar entries
	tarBytes  int64      // uncompressed tar stream length
	dive      *diveTree  // the layer as dive models it (nil unless asked)
}

type scanOptions struct {
	hash bool // sha256 regular file contents (for Diff)
	dive bool // build dive's per-layer tree (for Inspect)
}

// countingReader counts the bytes of the uncompressed tar stream.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// cleanPath turns a tar entry name into a relative slash path; "" is the root.
// Rooting it first means "../x" cannot climb out of the image.
func cleanPath(name string) string {
	return strings.TrimPrefix(path.Clean("/"+name), "/")
}

// isDpkgStatus reports whether p is a file Diff reads packages from.
func isDpkgStatus(p string) bool {
	if p == "var/lib/dpkg/status" {
		return true
	}
	dir, file := path.Split(p)
	return dir == "var/lib/dpkg/status.d/" && file != "" && !strings.HasSuffix(file, ".md5sums")
}

// maxDpkgFile bounds what is kept in memory of one dpkg status file.
const maxDpkgFile = 64 << 20

func scanLayer(l v1.Layer, index int, o scanOptions) (*scannedLayer, error) {
	rc, err := l.Uncompressed()
	if err != nil {
		return nil, fmt.Errorf("layer %d: %v", index, err)
	}
	defer rc.Close()
	cr := &countingReader{r: rc}
	tr := tar.NewReader(cr)
	s := &scannedLayer{index: index}
	if o.dive {
		s.dive = newDiveTree()
	}
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("layer %d: reading tar: %v", index, err)
		}
		if hdr.Typeflag == tar.TypeXGlobalHeader {
			continue // metadata for the archive, not a filesystem entry
		}
		s.inodes++
		if s.dive != nil {
			s.dive.addEntry(hdr)
		}
		p := cleanPath(hdr.Name)
		if p == "" {
			continue
		}
		dir, base := path.Split(p)
		dir = strings.TrimSuffix(dir, "/")
		switch {
		case base == opaqueMarker:
			s.opaques = append(s.opaques, dir)
			continue
		case strings.HasPrefix(base, whiteoutPrefix):
			s.whiteouts = append(s.whiteouts, path.Join(dir, strings.TrimPrefix(base, whiteoutPrefix)))
			continue
		}
		e := &fsEntry{
			Path: p, Type: hdr.Typeflag, Mode: hdr.Mode & 07777, UID: hdr.Uid, GID: hdr.Gid,
			Linkname: hdr.Linkname, Size: hdr.Size, Devmajor: hdr.Devmajor, Devminor: hdr.Devminor, Layer: index,
		}
		if hdr.Typeflag == tar.TypeLink {
			e.Linkname = cleanPath(hdr.Linkname)
		}
		if hdr.Typeflag == tar.TypeReg {
			// Whiteout markers (handled above) are empty regular files in
			// the tar but not files of the image, so they are not counted.
			s.files++
			keep := isDpkgStatus(p) && hdr.Size <= maxDpkgFile
			if o.hash || keep {
				h := sha256.New()
				var w io.Writer = h
				var buf strings.Builder
				if keep {
					w = io.MultiWriter(h, &buf)
				}
				if _, err := io.Copy(w, tr); err != nil {
					return nil, fmt.Errorf("layer %d: reading %s: %v", index, p, err)
				}
				if o.hash {
					e.SHA256 = hex.EncodeToString(h.Sum(nil))
				}
				if keep {
					e.data = []byte(buf.String())
				}
			}
		}
		s.entries = append(s.entries, e)
	}
	// Drain trailing padding so tarBytes is the whole stream.
	if _, err := io.Copy(io.Discard, cr); err != nil {
		return nil, fmt.Errorf("layer %d: %v", index, err)
	}
	s.tarBytes = cr.n
	return s, nil
}
