package build

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/berth-dev/berth/internal/build/layer"
	"github.com/berth-dev/berth/internal/deb"
	"github.com/berth-dev/berth/internal/spec"
)

// debIndexCache holds the package indexes fetched during one build, per
// set of repositories and architecture, so several debs layers fetch once.
type debIndexCache struct {
	mu      sync.Mutex
	indexes map[string]*deb.Index
}

// debsSource is a layer of Debian packages: resolved (or read from the
// lock), downloaded and verified, unpacked without maintainer scripts, with
// dpkg metadata in /var/lib/dpkg/status.d.
type debsSource struct {
	b       *Builder
	image   string
	variant string
	layer   spec.Layer
	arch    string
	repos   []deb.Repository
	// lower holds the packages that layers below this one install: like
	// apt on a system that has them, the layer does not install them again.
	lower map[string]bool

	locked *LockLayer // set by resolve
}

func (b *Builder) newDebsSource(image, variant string, l spec.Layer, plat platform, lower map[string]bool) (*debsSource, error) {
	arch := deb.DebianArch(plat.Architecture)
	names := l.Debs.Repositories
	if len(names) == 0 {
		for _, r := range b.File.Repositories {
			names = append(names, r.Name)
		}
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("%s: debs layer %q: berth.yaml has no repositories", l.Pos, l.Name)
	}
	var repos []deb.Repository
	for _, n := range names {
		i := slices.IndexFunc(b.File.Repositories, func(r spec.Repository) bool { return r.Name == n })
		if i < 0 {
			return nil, fmt.Errorf("%s: debs layer %q: unknown repository %q", l.Pos, l.Name, n)
		}
		r := b.File.Repositories[i]
		repos = append(repos, deb.Repository{Name: r.Name, URL: r.URL, Suite: r.Suite, Components: r.Components, Keyring: r.Keyring, Arch: arch})
	}
	return &debsSource{b: b, image: image, variant: variant, layer: l, arch: arch, repos: repos, lower: lower}, nil
}

func (s *debsSource) request() (req, repoNames []string) {
	req = slices.Clone(s.layer.Debs.Packages)
	sort.Strings(req)
	for _, r := range s.repos {
		repoNames = append(repoNames, r.Name)
	}
	sort.Strings(repoNames)
	return req, repoNames
}

// resolve returns the locked packages of the layer, resolving and
// recording them in the lock when the lock has no (current) entry.
func (s *debsSource) resolve(ctx context.Context) (*LockLayer, error) {
	if s.locked != nil {
		return s.locked, nil
	}
	req, repoNames := s.request()
	b := s.b
	if ll, ok := b.Lock.Find(s.image, s.variant, s.layer.Name, s.arch, req, repoNames); ok {
		s.locked = ll
		return ll, nil
	}
	if b.Frozen {
		return nil, fmt.Errorf("%s: %s has no current entry for image %s layer %s (packages %s): run `berth lock`",
			s.layer.Pos, b.LockPath, s.image, s.layer.Name, strings.Join(req, ", "))
	}
	start := time.Now()
	b.progress(Event{Image: s.image, Layer: s.layer.Name, Status: "resolving", Detail: strings.Join(req, " ")})
	ix, err := b.index(ctx, s.repos, s.arch)
	if err != nil {
		return nil, err
	}
	pkgs, err := ix.Resolve(req, s.arch)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", s.layer.Pos, err)
	}
	ll := LockLayer{Image: s.image, Variant: s.variant, Layer: s.layer.Name, Architecture: s.arch, Request: req, Repositories: repoNames}
	for _, p := range pkgs {
		if s.lower[p.Name] {
			continue // installed by a layer below
		}
		ll.Packages = append(ll.Packages, LockedPackage{Name: p.Name, Version: p.Version, Architecture: p.Architecture,
			Repository: p.Repo, Filename: p.Filename, SHA256: strings.ToLower(p.SHA256), Size: p.Size})
	}
	if b.Lock == nil {
		b.Lock = &Lockfile{Version: LockVersion}
	}
	b.Lock.Put(ll)
	b.lockChanged = true
	b.progress(Event{Image: s.image, Layer: s.layer.Name, Status: "resolved", Detail: fmt.Sprintf("%d packages", len(ll.Packages)), Duration: time.Since(start)})
	s.locked, _ = b.Lock.Find(s.image, s.variant, s.layer.Name, s.arch, req, repoNames)
	return s.locked, nil
}

func (b *Builder) index(ctx context.Context, repos []deb.Repository, arch string) (*deb.Index, error) {
	if b.debIndex == nil {
		b.debIndex = &debIndexCache{indexes: map[string]*deb.Index{}}
	}
	c := b.debIndex
	c.mu.Lock()
	defer c.mu.Unlock()
	k, _ := json.Marshal(repos)
	key := string(k) + arch
	if ix, ok := c.indexes[key]; ok {
		return ix, nil
	}
	ix, err := deb.Fetch(ctx, b.HTTP, repos, b.CacheDir)
	if err != nil {
		return nil, err
	}
	c.indexes[key] = ix
	return ix, nil
}

// Key is the hash of the exact package files (by SHA256) and the
// architecture: a lock hit makes the key without any network access.
func (s *debsSource) Key(ctx context.Context) (string, error) {
	ll, err := s.resolve(ctx)
	if err != nil {
		return "", err
	}
	h := sha256.New()
	fmt.Fprintf(h, "berth-debs-v2\x00%s\x00", s.arch) // v2: CA bundle
	for _, p := range ll.Packages {
		fmt.Fprintf(h, "%s\x00%s\x00%s\x00%s\x00", p.Name, p.Version, p.Architecture, p.SHA256)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// Tree downloads (or finds in the cache) every package, verifies it, and
// unpacks its data into one tree, plus a status.d record per package.
func (s *debsSource) Tree(ctx context.Context) (*layer.Tree, error) {
	ll, err := s.resolve(ctx)
	if err != nil {
		return nil, err
	}
	pkgs := make([]*deb.Package, len(ll.Packages))
	for i, p := range ll.Packages {
		pkgs[i] = &deb.Package{Name: p.Name, Version: p.Version, Architecture: p.Architecture, Filename: p.Filename,
			SHA256: p.SHA256, Size: p.Size, Repo: p.Repository}
	}
	s.b.progress(Event{Image: s.image, Layer: s.layer.Name, Status: "downloading", Detail: fmt.Sprintf("%d packages", len(pkgs))})
	paths, err := deb.DownloadAll(ctx, s.b.HTTP, s.repos, pkgs, s.b.CacheDir, 4)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", s.layer.Pos, err)
	}
	t := layer.NewTree()
	for i, p := range pkgs {
		if err := unpackDeb(t, p.Name, paths[i]); err != nil {
			return nil, fmt.Errorf("%s: package %s: %w", s.layer.Pos, p, err)
		}
	}
	if err := caBundle(t); err != nil {
		return nil, fmt.Errorf("%s: %w", s.layer.Pos, err)
	}
	return t, nil
}

// caBundle does in Go what ca-certificates' maintainer script would do
// (update-ca-certificates): when the layer installs certificates under
// /usr/share/ca-certificates, it writes the bundle
// /etc/ssl/certs/ca-certificates.crt that TLS clients read, every
// certificate in path order, as distroless images carry it.
func caBundle(t *layer.Tree) error {
	const dir = "usr/share/ca-certificates/"
	var bundle bytes.Buffer
	for _, e := range t.Entries() {
		if e.Type != tar.TypeReg || !strings.HasPrefix(e.Path, dir) || !strings.HasSuffix(e.Path, ".crt") {
			continue
		}
		rc, err := e.Open()
		if err != nil {
			return err
		}
		_, err = io.Copy(&bundle, rc)
		rc.Close()
		if err != nil {
			return err
		}
		if b := bundle.Bytes(); len(b) > 0 && b[len(b)-1] != '\n' {
			bundle.WriteByte('\n')
		}
	}
	if bundle.Len() == 0 {
		return nil
	}
	data := bundle.Bytes()
	return t.Add(layer.Entry{Path: "etc/ssl/certs/ca-certificates.crt", Type: tar.TypeReg, Mode: 0o644, Size: int64(len(data)),
		Open: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }})
}

// unpackDeb adds the data of one .deb to t (contents held in memory) and
// its status.d record and md5sums.
func unpackDeb(t *layer.Tree, name, path string) error {
	control, md5sums, err := deb.ReadDeb(path, func(hdr *tar.Header, r io.Reader) error {
		p, err := layer.CleanPath(hdr.Name)
		if err != nil {
			if strings.Trim(hdr.Name, "./") == "" {
				return nil // the archive's root directory
			}
			return err
		}
		e := layer.Entry{Path: p, Mode: hdr.Mode & 0o7777, UID: hdr.Uid, GID: hdr.Gid}
		switch hdr.Typeflag {
		case tar.TypeDir:
			e.Type = tar.TypeDir
		case tar.TypeSymlink:
			e.Type, e.Linkname = tar.TypeSymlink, hdr.Linkname
		case tar.TypeLink:
			target, err := layer.CleanPath(hdr.Linkname)
			if err != nil {
				return err
			}
			e.Type, e.Linkname = tar.TypeLink, target
		case tar.TypeReg:
			data, err := io.ReadAll(r)
			if err != nil {
				return err
			}
			e.Type, e.Size = tar.TypeReg, int64(len(data))
			e.Open = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }
		default:
			return nil // device nodes and fifos: never in Debian packages' data
		}
		return t.Add(e)
	})
	if err != nil {
		return err
	}
	add := func(p string, data []byte) error {
		return t.Add(layer.Entry{Path: p, Type: tar.TypeReg, Mode: 0o644, Size: int64(len(data)),
			Open: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }})
	}
	if err := add(deb.StatusPath(name), deb.StatusParagraph(control)); err != nil {
		return err
	}
	if len(md5sums) > 0 {
		return add(deb.MD5sumsPath(name), md5sums)
	}
	return nil
}
