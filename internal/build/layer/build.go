package layer

import (
	"archive/tar"
	"bufio"
	"crypto/sha256"

	"fmt"
	"hash"
	"io"
	"os"
	"time"

	// The standard library's gzip, not klauspost's: klauspost is ~3x faster
	// (116 vs 39 MB/s at level 6) but its output is 1.8-2.5% larger, and
	// images must be no larger than docker's (which uses compress/gzip).
	// Layers are built once and cached by their inputs, so the speed matters
	// only for cold builds. Output is deterministic for a fixed Go version;
	// Compressor is part of every cache key so a change never reuses stale
	// blobs.
	"compress/gzip"
	digest "github.com/opencontainers/go-digest"
)

// Compressor names the gzip implementation in cache keys.
const Compressor = "compress/gzip"

// DefaultGzipLevel is used when Options.GzipLevel is 0. Level 6 is gzip's
// usual default; it is fixed so the same tree always compresses to the same
// bytes.
const DefaultGzipLevel = 6

// Options controls how a tree is serialised. Both fields change the layer's
// digests, so callers must include them in their cache keys.
type Options struct {
	// MTime is written as the modification time of every entry (truncated to
	// whole seconds). The zero value means the Unix epoch.
	MTime time.Time
	// GzipLevel is 1 (fastest) to 9 (smallest); 0 means DefaultGzipLevel.
	GzipLevel int
}

// Built describes a finished layer.
type Built struct {
	Digest           digest.Digest `json:"digest"` // sha256 of the gzip blob
	DiffID           digest.Digest `json:"diffID"` // sha256 of the tar stream
	Size             int64         `json:"size"`   // gzip blob bytes
	UncompressedSize int64         `json:"uncompressedSize"`
	Files            int           `json:"files"`  // regular files (hardlinks excluded)
	Inodes           int           `json:"inodes"` // all tar entries
	Path             string        `json:"path"`   // the gzip blob on disk
}

// Build writes the tree as a tar+gzip blob into a new temporary file in dir,
// hashing the tar stream (DiffID) and the gzip stream (Digest) as they are
// produced, in one pass. The file is fsynced before Build returns; on error
// no file is left behind.
func Build(t *Tree, dir string, o Options) (_ Built, err error) {
	level := o.GzipLevel
	if level == 0 {
		level = DefaultGzipLevel
	}
	if level < 1 || level > 9 {
		return Built{}, fmt.Errorf("gzip level %d: must be 1..9 (or 0 for the default %d)", o.GzipLevel, DefaultGzipLevel)
	}
	mtime := time.Unix(0, 0).UTC()
	if !o.MTime.IsZero() {
		mtime = o.MTime.Truncate(time.Second).UTC()
	}
	if mtime.Unix() < 0 {
		return Built{}, fmt.Errorf("layer mtime %s is before 1970", o.MTime)
	}
	entries, err := normaliseHardlinks(t.Entries())
	if err != nil {
		return Built{}, err
	}

	f, err := os.CreateTemp(dir, "layer-*.tar.gz.tmp")
	if err != nil {
		return Built{}, fmt.Errorf("create layer file: %w", err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()

	// file ← bufio ← (gzip sha256 + count) ← gzip ← (tar sha256 + count) ← tar
	fileBuf := bufio.NewWriterSize(f, 1<<20)
	gzSum := newCountingHash()
	gz, err := gzip.NewWriterLevel(io.MultiWriter(fileBuf, gzSum), level)
	if err != nil {
		return Built{}, err
	}
	// No name, mtime 0 ("none"), OS "unknown": the header depends on nothing
	// but the content. klauspost writes ModTime unconditionally, so it must
	// be the epoch rather than the zero time.Time.
	gz.Header = gzip.Header{OS: 255, ModTime: time.Unix(0, 0)}
	tarSum := newCountingHash()
	tw := tar.NewWriter(io.MultiWriter(gz, tarSum))

	var b Built
	copyBuf := make([]byte, 256<<10)
	for _, e := range entries {
		if err := writeEntry(tw, e, mtime, copyBuf); err != nil {
			return Built{}, err
		}
		b.Inodes++
		if e.Type == tar.TypeReg {
			b.Files++
		}
	}
	if err := tw.Close(); err != nil {
		return Built{}, fmt.Errorf("finish tar: %w", err)
	}
	if err := gz.Close(); err != nil {
		return Built{}, fmt.Errorf("finish gzip: %w", err)
	}
	if err := fileBuf.Flush(); err != nil {
		return Built{}, fmt.Errorf("write layer file: %w", err)
	}
	if err := f.Sync(); err != nil {
		return Built{}, fmt.Errorf("sync layer file: %w", err)
	}
	if err := f.Close(); err != nil {
		return Built{}, fmt.Errorf("close layer file: %w", err)
	}
	b.Digest = gzSum.digest()
	b.Size = gzSum.n
	b.DiffID = tarSum.digest()
	b.UncompressedSize = tarSum.n
	b.Path = f.Name()
	return b, nil
}

// writeEntry writes one header (and content) with every field that could vary
// between machines pinned: fixed mtime, no atime/ctime, no user/group names,
// numeric owners, zero device numbers.
func writeEntry(tw *tar.Writer, e Entry, mtime time.Time, buf []byte) error {
	hdr := &tar.Header{
		Typeflag: e.Type,
		Name:     e.Path,
		Linkname: e.Linkname,
		Mode:     e.Mode,
		Uid:      e.UID,
		Gid:      e.GID,
		ModTime:  mtime,
	}
	switch e.Type {
	case tar.TypeDir:
		hdr.Name += "/"
	case tar.TypeReg:
		hdr.Size = e.Size
	}
	if err := tw.WriteHeader(hdr); err != nil {
		return fmt.Errorf("layer entry %q: tar header: %w", e.Path, err)
	}
	if e.Type != tar.TypeReg || e.Size == 0 {
		return nil
	}
	rc, err := e.Open()
	if err != nil {
		return fmt.Errorf("layer entry %q: open content: %w", e.Path, err)
	}
	defer rc.Close()
	n, err := io.CopyBuffer(tw, io.LimitReader(rc, e.Size), buf)
	if err != nil {
		return fmt.Errorf("layer entry %q: copy content: %w", e.Path, err)
	}
	if n != e.Size {
		return fmt.Errorf("layer entry %q: content is %d bytes, expected %d (file changed while building?)", e.Path, n, e.Size)
	}
	// A source that has grown since it was measured would silently be
	// truncated; refuse instead.
	var one [1]byte
	if m, _ := rc.Read(one[:]); m > 0 {
		return fmt.Errorf("layer entry %q: content is longer than the expected %d bytes (file changed while building?)", e.Path, e.Size)
	}
	return nil
}

// normaliseHardlinks makes every hardlink group (a regular file and the links
// to it) canonical: the member that sorts first carries the content and the
// others link to it. A tar reader needs the target before the link, and this
// also makes the bytes independent of which member the source called the
// original.
func normaliseHardlinks(entries []Entry) ([]Entry, error) {
	index := make(map[string]int, len(entries))
	hasLinks := false
	for i, e := range entries {
		index[e.Path] = i
		if e.Type == tar.TypeLink {
			hasLinks = true
		}
	}
	if !hasLinks {
		return entries, nil
	}
	// root resolves a link chain to the regular file that holds the content.
	root := func(p string) (string, error) {
		seen := map[string]bool{}
		for {
			i, ok := index[p]
			if !ok {
				return "", fmt.Errorf("hardlink target %q is not in the layer", p)
			}
			e := entries[i]
			switch e.Type {
			case tar.TypeReg:
				return p, nil
			case tar.TypeLink:
				if seen[p] {
					return "", fmt.Errorf("hardlink loop through %q", p)
				}
				seen[p] = true
				p = e.Linkname
			default:
				return "", fmt.Errorf("hardlink target %q is a %s, not a regular file", p, typeName(e.Type))
			}
		}
	}
	// first member (in sorted order) of each group, keyed by the group's file.
	first := map[string]string{}
	for _, e := range entries {
		if e.Type != tar.TypeReg && e.Type != tar.TypeLink {
			continue
		}
		r := e.Path
		if e.Type == tar.TypeLink {
			var err error
			if r, err = root(e.Linkname); err != nil {
				return nil, fmt.Errorf("layer entry %q: %w", e.Path, err)
			}
		}
		if _, ok := first[r]; !ok {
			first[r] = e.Path
		}
	}
	out := make([]Entry, len(entries))
	copy(out, entries)
	for i, e := range out {
		if e.Type != tar.TypeReg && e.Type != tar.TypeLink {
			continue
		}
		r := e.Path
		if e.Type == tar.TypeLink {
			r, _ = root(e.Linkname)
		}
		lead := first[r]
		if lead == e.Path {
			file := entries[index[r]]
			file.Path = e.Path
			out[i] = file
		} else {
			file := entries[index[r]]
			out[i] = Entry{Path: e.Path, Type: tar.TypeLink, Linkname: lead, Mode: file.Mode, UID: file.UID, GID: file.GID}
		}
	}
	return out, nil
}

type countingHash struct {
	h hash.Hash
	n int64
}

func newCountingHash() *countingHash { return &countingHash{h: sha256.New()} }

func (c *countingHash) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	return c.h.Write(p)
}

func (c *countingHash) digest() digest.Digest {
	return digest.NewDigestFromBytes(digest.SHA256, c.h.Sum(nil))
}
