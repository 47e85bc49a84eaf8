package source

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/bzip2"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/klauspost/compress/zstd"

	"github.com/berth-dev/berth/internal/build/layer"
)

// TarOptions configures a layer made from a tarball or a directory tree.
type TarOptions struct {
	Context string
	// Src (relative to Context) is a tarball (.tar, gzip, bzip2 or zstd
	// compressed, detected from its bytes) or a directory such as
	// debootstrap output. Owners, modes, symlinks and hardlinks are kept;
	// times are not (the layer's mtime applies).
	Src string
	// StatCache is a directory for the content-hash cache ("" disables it).
	StatCache string
	// Warn receives notes about skipped entries (device nodes, fifos,
	// sockets); nil drops them.
	Warn func(msg string)
}

// Tar is the source of a tar layer.
type Tar struct {
	o    TarOptions
	real string
	rel  string
	dir  bool
	stat *statCache
}

// NewTar resolves Src inside the context.
func NewTar(o TarOptions) (*Tar, error) {
	c, err := openContext(o.Context)
	if err != nil {
		return nil, err
	}
	real, rel, err := c.resolve(o.Src)
	if err != nil {
		return nil, fmt.Errorf("tar: %w", err)
	}
	fi, err := os.Stat(real)
	if err != nil {
		return nil, fmt.Errorf("tar: %w", err)
	}
	if !fi.IsDir() && !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("tar: src %q is neither a file nor a directory", o.Src)
	}
	return &Tar{o: o, real: real, rel: rel, dir: fi.IsDir(), stat: openStatCache(o.StatCache, "tar\x00"+real)}, nil
}

func (s *Tar) warn(format string, args ...any) {
	if s.o.Warn != nil {
		s.o.Warn(fmt.Sprintf("tar %s: ", s.o.Src) + fmt.Sprintf(format, args...))
	}
}

// Key is the hash of the tarball's bytes, or of a directory walk (paths,
// types, modes, owners, link targets, content hashes).
func (s *Tar) Key(ctx context.Context) (string, error) {
	defer func() { _ = s.stat.save() }()
	if !s.dir {
		fi, err := os.Stat(s.real)
		if err != nil {
			return "", err
		}
		sum, err := s.stat.hash(s.real, fi)
		if err != nil {
			return "", err
		}
		k := newKey("tar", "file")
		k.add(sum)
		return k.sum()
	}
	k := newKey("tar", "directory")
	err := s.walkDir(ctx, func(e layer.Entry, src string, fi fs.FileInfo) error {
		ke := keyEntry{Path: e.Path, Type: string(e.Type), Mode: e.Mode, UID: e.UID, GID: e.GID, Linkname: e.Linkname}
		if e.Type == tar.TypeReg {
			sum, err := s.stat.hash(src, fi)
			if err != nil {
				return err
			}
			ke.SHA256 = sum
		}
		k.add(ke)
		return nil
	}, false)
	if err != nil {
		return "", err
	}
	return k.sum()
}

// Tree reads the tarball or the directory.
func (s *Tar) Tree(ctx context.Context) (*layer.Tree, error) {
	if s.dir {
		t := layer.NewTree()
		err := s.walkDir(ctx, func(e layer.Entry, src string, _ fs.FileInfo) error {
			if e.Type == tar.TypeReg {
				e.Open = func() (io.ReadCloser, error) { return os.Open(src) }
			}
			return t.Add(e)
		}, true)
		return t, err
	}
	return s.tarball(ctx)
}

// walkDir visits the directory tree in lexical order, skipping the root.
func (s *Tar) walkDir(ctx context.Context, fn func(e layer.Entry, src string, fi fs.FileInfo) error, warn bool) error {
	firstLink := map[[2]uint64]string{}
	return filepath.WalkDir(s.real, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if p == s.real {
			return nil
		}
		rel := filepath.ToSlash(p[len(s.real)+1:])
		fi, err := d.Info()
		if err != nil {
			return err
		}
		uid, gid := fileOwner(fi)
		e := layer.Entry{Path: rel, Mode: permBits(fi.Mode()), UID: uid, GID: gid}
		switch {
		case fi.IsDir():
			e.Type = tar.TypeDir
		case fi.Mode().IsRegular():
			if id, ok := hardlinkID(fi); ok {
				if first, seen := firstLink[id]; seen {
					e.Type, e.Linkname = tar.TypeLink, first
					return fn(e, "", fi)
				}
				firstLink[id] = rel
			}
			e.Type, e.Size = tar.TypeReg, fi.Size()
		case fi.Mode()&fs.ModeSymlink != 0:
			link, err := os.Readlink(p)
			if err != nil {
				return err
			}
			e.Type, e.Linkname, e.Mode = tar.TypeSymlink, link, 0o777
		default:
			if warn {
				s.warn("skipped %s (%s)", rel, fi.Mode().Type())
			}
			return nil
		}
		return fn(e, p, fi)
	})
}

// permBits maps Go's mode bits to the tar permission bits (07777).
func permBits(m fs.FileMode) int64 {
	b := int64(m.Perm())
	if m&fs.ModeSetuid != 0 {
		b |= 0o4000
	}
	if m&fs.ModeSetgid != 0 {
		b |= 0o2000
	}
	if m&fs.ModeSticky != 0 {
		b |= 0o1000
	}
	return b
}

// tarball indexes the tarball's entries. File contents are not copied: each
// entry reads its byte range of the (decompressed) tar. A compressed tarball
// is decompressed once into an unlinked temp file, which the kernel frees
// when the tree is garbage collected (the open *os.File closes on
// finalisation), so no cleanup call is needed.
func (s *Tar) tarball(ctx context.Context) (*layer.Tree, error) {
	f, err := s.openUncompressed()
	if err != nil {
		return nil, fmt.Errorf("tar %s: %w", s.o.Src, err)
	}
	tr := tar.NewReader(f)
	t := layer.NewTree()
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("tar %s: %w", s.o.Src, err)
		}
		name, ok, err := tarPath(hdr.Name)
		if err != nil {
			return nil, fmt.Errorf("tar %s: entry %q: %w", s.o.Src, hdr.Name, err)
		}
		if !ok {
			continue // the root directory
		}
		e := layer.Entry{Path: name, Mode: hdr.Mode & 0o7777, UID: hdr.Uid, GID: hdr.Gid}
		switch hdr.Typeflag {
		case tar.TypeReg, tar.TypeRegA:
			e.Type, e.Size = tar.TypeReg, hdr.Size
			if isSparse(hdr) {
				// The archive's bytes are not the file's bytes; expand
				// into memory.
				data, err := io.ReadAll(tr)
				if err != nil {
					return nil, fmt.Errorf("tar %s: %s: %w", s.o.Src, name, err)
				}
				e.Open = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }
				break
			}
			off, err := f.Seek(0, io.SeekCurrent)
			if err != nil {
				return nil, err
			}
			size := hdr.Size
			e.Open = func() (io.ReadCloser, error) { return io.NopCloser(io.NewSectionReader(f, off, size)), nil }
		case tar.TypeDir:
			e.Type = tar.TypeDir
		case tar.TypeSymlink:
			e.Type, e.Linkname, e.Mode = tar.TypeSymlink, hdr.Linkname, 0o777
		case tar.TypeLink:
			target, ok, err := tarPath(hdr.Linkname)
			if err != nil || !ok {
				return nil, fmt.Errorf("tar %s: hardlink %q → %q: invalid target", s.o.Src, hdr.Name, hdr.Linkname)
			}
			e.Type, e.Linkname = tar.TypeLink, target
		case tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
			s.warn("skipped %s (device node or fifo)", name)
			continue
		case tar.TypeXGlobalHeader:
			continue
		default:
			return nil, fmt.Errorf("tar %s: entry %q: unsupported type %q", s.o.Src, hdr.Name, hdr.Typeflag)
		}
		if err := t.Add(e); err != nil {
			return nil, fmt.Errorf("tar %s: %w", s.o.Src, err)
		}
	}
	return t, nil
}

// tarPath normalises an archive name ("./usr/bin/", "/etc") to an image
// path; ok is false for the root itself.
func tarPath(name string) (string, bool, error) {
	trimmed := strings.Trim(name, "/")
	if trimmed == "" || trimmed == "." {
		return "", false, nil
	}
	for _, el := range strings.Split(trimmed, "/") {
		if el == ".." {
			return "", false, errors.New("path contains '..'")
		}
	}
	p := path.Clean(trimmed)
	if p == "." {
		return "", false, nil
	}
	return p, true, nil
}

func isSparse(h *tar.Header) bool {
	if h.Typeflag == tar.TypeGNUSparse {
		return true
	}
	for k := range h.PAXRecords {
		if strings.HasPrefix(k, "GNU.sparse.") {
			return true
		}
	}
	return false
}

// openUncompressed returns a seekable file holding the uncompressed tar.
func (s *Tar) openUncompressed() (*os.File, error) {
	f, err := os.Open(s.real)
	if err != nil {
		return nil, err
	}
	magic := make([]byte, 6)
	n, _ := io.ReadFull(f, magic)
	magic = magic[:n]
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		f.Close()
		return nil, err
	}
	var dec io.Reader
	switch {
	case bytes.HasPrefix(magic, []byte{0x1f, 0x8b}):
		zr, err := gzip.NewReader(bufio.NewReaderSize(f, 1<<20))
		if err != nil {
			f.Close()
			return nil, err
		}
		zr.Multistream(true)
		dec = zr
	case bytes.HasPrefix(magic, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		zr, err := zstd.NewReader(f)
		if err != nil {
			f.Close()
			return nil, err
		}
		defer zr.Close()
		dec = zr
	case bytes.HasPrefix(magic, []byte("BZh")):
		dec = bzip2.NewReader(bufio.NewReaderSize(f, 1<<20))
	case bytes.HasPrefix(magic, []byte{0xfd, '7', 'z', 'X', 'Z', 0}):
		f.Close()
		return nil, errors.New("xz-compressed tarballs are not supported; use an uncompressed, gzip, bzip2 or zstd tarball")
	default:
		return f, nil // plain tar
	}
	defer f.Close()
	tmp, err := os.CreateTemp("", "berth-tar-*")
	if err != nil {
		return nil, err
	}
	// Unlinked now: the space is reclaimed when the file is closed.
	os.Remove(tmp.Name())
	if _, err := io.Copy(tmp, dec); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("decompress: %w", err)
	}
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		tmp.Close()
		return nil, err
	}
	return tmp, nil
}
