package deb

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strconv"
	"strings"

	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
)

// Limits on the control member: it holds a few small text files, so anything
// large is hostile or broken.
const (
	maxControlFile = 4 << 20
	maxMD5sums     = 64 << 20
)

// ReadDeb reads a .deb: the ar archive's control.tar(.gz|.xz|.zst) for the
// control file and md5sums, then data.tar(.gz|.xz|.zst|plain), calling fn
// for every data entry in archive order. Maintainer scripts are never
// extracted, let alone run.
//
// Header names are normalised to image paths: slash-separated, relative, no
// "./" prefix, no trailing '/'; the archive root "./" is skipped. Hard link
// targets get the same treatment. Entries with absolute paths or ".."
// components (and hard links pointing outside the archive) are rejected;
// symlink targets are left as they are, since absolute ones are normal.
func ReadDeb(name string, fn func(hdr *tar.Header, r io.Reader) error) (control Paragraph, md5sums []byte, err error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	control, md5sums, err = ReadDebFrom(f, fn)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", name, err)
	}
	return control, md5sums, nil
}

// ReadDebFrom is ReadDeb over a stream.
func ReadDebFrom(r io.Reader, fn func(hdr *tar.Header, r io.Reader) error) (control Paragraph, md5sums []byte, err error) {
	ar := newArReader(bufio.NewReaderSize(r, 64<<10))
	// debian-binary, control.tar.*, data.tar.* in this order (deb(5));
	// members starting with '_' are reserved for extensions and skipped.
	name, body, err := ar.next()
	if err != nil {
		return nil, nil, fmt.Errorf("not a .deb: %w", err)
	}
	if name != "debian-binary" {
		return nil, nil, fmt.Errorf("not a .deb: first member is %q, want debian-binary", name)
	}
	vers, err := io.ReadAll(io.LimitReader(body, 64))
	if err != nil {
		return nil, nil, err
	}
	if !strings.HasPrefix(string(vers), "2.") {
		return nil, nil, fmt.Errorf("unsupported .deb format version %q", strings.TrimSpace(string(vers)))
	}
	var haveControl bool
	for {
		name, body, err = ar.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, nil, err
		}
		switch {
		case strings.HasPrefix(name, "_"):
			continue
		case strings.HasPrefix(name, "control.tar"):
			if haveControl {
				return nil, nil, errors.New("two control members")
			}
			haveControl = true
			if control, md5sums, err = readControlTar(name, body); err != nil {
				return nil, nil, err
			}
		case strings.HasPrefix(name, "data.tar"):
			if !haveControl {
				return nil, nil, errors.New("data member before the control member")
			}
			if err := readDataTar(name, body, fn); err != nil {
				return nil, nil, err
			}
			return control, md5sums, nil
		default:
			return nil, nil, fmt.Errorf("unexpected member %q", name)
		}
	}
	return nil, nil, errors.New("no data.tar member")
}

func readControlTar(member string, body io.Reader) (Paragraph, []byte, error) {
	dr, closeFn, err := decompress(member, body)
	if err != nil {
		return nil, nil, err
	}
	defer closeFn()
	tr := tar.NewReader(dr)
	var control Paragraph
	var md5sums []byte
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", member, err)
		}
		switch strings.TrimPrefix(hdr.Name, "./") {
		case "control":
			data, err := readLimited(tr, maxControlFile)
			if err != nil {
				return nil, nil, fmt.Errorf("%s: control: %w", member, err)
			}
			if control, err = ParseParagraph(data); err != nil {
				return nil, nil, fmt.Errorf("%s: control: %w", member, err)
			}
		case "md5sums":
			if md5sums, err = readLimited(tr, maxMD5sums); err != nil {
				return nil, nil, fmt.Errorf("%s: md5sums: %w", member, err)
			}
		}
		// preinst, postinst, conffiles, triggers…: deliberately not read
	}
	if control == nil {
		return nil, nil, fmt.Errorf("%s: no control file", member)
	}
	return control, md5sums, nil
}

func readDataTar(member string, body io.Reader, fn func(*tar.Header, io.Reader) error) error {
	dr, closeFn, err := decompress(member, body)
	if err != nil {
		return err
	}
	defer closeFn()
	tr := tar.NewReader(dr)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: %w", member, err)
		}
		name, err := cleanEntryPath(hdr.Name)
		if err != nil {
			return fmt.Errorf("%s: entry %q: %w", member, hdr.Name, err)
		}
		if name == "" {
			continue // the archive root "./"
		}
		hdr.Name = name
		if hdr.Typeflag == tar.TypeLink {
			target, err := cleanEntryPath(hdr.Linkname)
			if err != nil || target == "" {
				return fmt.Errorf("%s: hard link %q → %q: target must be a path inside the archive", member, name, hdr.Linkname)
			}
			hdr.Linkname = target
		}
		if err := fn(hdr, tr); err != nil {
			return err
		}
	}
}

// cleanEntryPath turns "./usr/bin/" into "usr/bin" and rejects absolute
// paths and ".." components (no tar entry of a .deb may escape its root).
func cleanEntryPath(p string) (string, error) {
	if strings.HasPrefix(p, "/") {
		return "", errors.New("absolute path")
	}
	if strings.ContainsRune(p, 0) {
		return "", errors.New("NUL in path")
	}
	for _, el := range strings.Split(p, "/") {
		if el == ".." {
			return "", errors.New("'..' in path")
		}
	}
	c := path.Clean(p)
	if c == "." {
		return "", nil
	}
	return c, nil
}

// decompress picks the decompressor from the member name's suffix.
func decompress(member string, r io.Reader) (io.Reader, func(), error) {
	noop := func() {}
	switch {
	case strings.HasSuffix(member, ".tar"):
		return r, noop, nil
	case strings.HasSuffix(member, ".gz"):
		zr, err := gzip.NewReader(r)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", member, err)
		}
		return zr, func() { zr.Close() }, nil
	case strings.HasSuffix(member, ".xz"):
		zr, err := xz.NewReader(r)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", member, err)
		}
		return zr, noop, nil
	case strings.HasSuffix(member, ".zst"):
		zr, err := zstd.NewReader(r, zstd.WithDecoderConcurrency(1))
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", member, err)
		}
		return zr, zr.Close, nil
	}
	return nil, nil, fmt.Errorf("member %q: unsupported compression", member)
}

func readLimited(r io.Reader, limit int64) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("larger than %d bytes", limit)
	}
	return data, nil
}

// arReader walks the members of a common-format ar archive (what dpkg-deb
// writes): "!<arch>\n", then per member a 60-byte header and the data padded
// to an even length.
type arReader struct {
	r       *bufio.Reader
	started bool
	pending int64 // unread data bytes of the current member
	pad     int64 // padding byte after it (0 or 1)
}

func newArReader(r *bufio.Reader) *arReader { return &arReader{r: r} }

func (a *arReader) next() (string, io.Reader, error) {
	if !a.started {
		magic := make([]byte, 8)
		if _, err := io.ReadFull(a.r, magic); err != nil {
			return "", nil, fmt.Errorf("reading ar magic: %w", err)
		}
		if !bytes.Equal(magic, []byte("!<arch>\n")) {
			return "", nil, errors.New("no ar archive magic")
		}
		a.started = true
	}
	if a.pending > 0 {
		if _, err := io.CopyN(io.Discard, a.r, a.pending); err != nil {
			return "", nil, fmt.Errorf("skipping ar member: %w", err)
		}
		a.pending = 0
	}
	if a.pad > 0 {
		// some writers omit the padding after the last member
		if _, err := a.r.Discard(int(a.pad)); err == io.EOF {
			return "", nil, io.EOF
		}
		a.pad = 0
	}
	var hdr [60]byte
	n, err := io.ReadFull(a.r, hdr[:])
	if err == io.EOF {
		return "", nil, io.EOF
	}
	if err != nil {
		return "", nil, fmt.Errorf("ar header truncated after %d bytes", n)
	}
	if hdr[58] != '`' || hdr[59] != '\n' {
		return "", nil, errors.New("bad ar member header")
	}
	name := strings.TrimRight(strings.TrimSpace(string(hdr[0:16])), "/")
	size, err := strconv.ParseInt(strings.TrimSpace(string(hdr[48:58])), 10, 64)
	if err != nil || size < 0 {
		return "", nil, fmt.Errorf("ar member %q: bad size %q", name, strings.TrimSpace(string(hdr[48:58])))
	}
	a.pending, a.pad = size, size%2
	return name, &memberReader{a: a, left: size}, nil
}

type memberReader struct {
	a    *arReader
	left int64
}

func (m *memberReader) Read(p []byte) (int, error) {
	if m.left <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > m.left {
		p = p[:m.left]
	}
	n, err := m.a.r.Read(p)
	m.left -= int64(n)
	m.a.pending -= int64(n)
	if err == io.EOF && m.left > 0 {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}
