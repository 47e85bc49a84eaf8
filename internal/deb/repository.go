package deb

import (
	"github.com/berth-dev/berth/internal/atomicfile"

	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ulikunitz/xz"
)

// Repository is one apt source: URL/dists/Suite/{Components}/binary-Arch.
type Repository struct {
	Name       string   // label used in errors, Package.Repo and berth.yaml
	URL        string   // http://, https:// or file:// base (the directory holding dists/ and pool/)
	Suite      string   // e.g. bookworm, bookworm-updates
	Components []string // e.g. [main]
	Keyring    string   // path to an OpenPGP keyring (binary or armored); "" = no signature check
	Arch       string   // Debian architecture, e.g. amd64; "" = the host's
}

func (r Repository) arch() string {
	if r.Arch != "" {
		return r.Arch
	}
	return DebianArch(runtime.GOARCH)
}

func (r Repository) distURL(file string) string {
	return joinURL(r.URL, "dists/"+r.Suite+"/"+file)
}

// joinURL appends a repository-relative path to a base URL, escaping each
// segment: a pool file named "busybox_1%3a1.35.0_amd64.deb" (how apt-get
// download spells an epoch) must be requested as ".../busybox_1%253a…".
func joinURL(base, rel string) string {
	segs := strings.Split(rel, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return strings.TrimRight(base, "/") + "/" + strings.Join(segs, "/")
}

// DebianArch maps a Go GOARCH to the Debian architecture name.
func DebianArch(goarch string) string {
	switch goarch {
	case "386":
		return "i386"
	case "arm":
		return "armhf"
	case "ppc64le":
		return "ppc64el"
	case "mips64le":
		return "mips64el"
	}
	return goarch
}

// Fetch downloads and verifies the indexes of every repository and returns
// them as one Index. Per repository: dists/<suite>/InRelease (signature
// checked against Keyring when set; if InRelease is missing, Release plus
// Release.gpg), then for each component binary-<arch>/Packages and, if the
// Release lists it, binary-all/Packages, in the best compression the Release
// lists (xz, gz, plain), each checked against the Release's size and SHA256
// before it is parsed. cacheDir ("" = no cache) keeps verified index files by
// hash, so an unchanged index is not downloaded again.
func Fetch(ctx context.Context, c *http.Client, repos []Repository, cacheDir string) (*Index, error) {
	if c == nil {
		c = http.DefaultClient
	}
	seen := map[string]bool{}
	for _, repo := range repos {
		if repo.Name == "" {
			return nil, fmt.Errorf("repository %s: no name", repo.URL)
		}
		if seen[repo.Name] {
			return nil, fmt.Errorf("repository %q: name used twice", repo.Name)
		}
		seen[repo.Name] = true
	}
	ix := NewIndex()
	for _, repo := range repos {
		pkgs, err := fetchRepository(ctx, c, repo, cacheDir)
		if err != nil {
			return nil, fmt.Errorf("repository %q (%s %s): %w", repo.Name, repo.URL, repo.Suite, err)
		}
		ix.addRepo(repo.Name, pkgs)
	}
	return ix, nil
}

func fetchRepository(ctx context.Context, c *http.Client, repo Repository, cacheDir string) ([]*Package, error) {
	if repo.URL == "" || repo.Suite == "" || len(repo.Components) == 0 {
		return nil, errors.New("url, suite and components are required")
	}
	if strings.Contains(repo.Suite, "..") || strings.HasPrefix(repo.Suite, "/") {
		return nil, fmt.Errorf("suite %q: must be a relative path without '..'", repo.Suite)
	}
	var keys openpgp.EntityList
	if repo.Keyring != "" {
		var err error
		if keys, err = LoadKeyring(repo.Keyring); err != nil {
			return nil, err
		}
	}
	rel, err := fetchRelease(ctx, c, repo, keys)
	if err != nil {
		return nil, err
	}
	if rel.Suite != repo.Suite && rel.Codename != repo.Suite {
		return nil, fmt.Errorf("Release is for suite %q (codename %q), not %q", rel.Suite, rel.Codename, repo.Suite)
	}
	if !rel.ValidUntil.IsZero() && time.Now().After(rel.ValidUntil) {
		return nil, fmt.Errorf("Release expired at %s (Valid-Until); the mirror is stale or replaying old metadata", rel.ValidUntil.UTC().Format(time.RFC3339))
	}
	arch := repo.arch()
	var pkgs []*Package
	for _, comp := range repo.Components {
		if comp == "" || strings.Contains(comp, "..") {
			return nil, fmt.Errorf("component %q: invalid", comp)
		}
		for _, a := range []string{arch, "all"} {
			dir := comp + "/binary-" + a + "/"
			fh, ok := pickIndex(rel, dir)
			if !ok {
				if a == "all" {
					continue // binary-all is optional: arch:all packages are in binary-<arch> too
				}
				return nil, fmt.Errorf("Release lists no %sPackages{,.xz,.gz} (components %v, architectures %v)", dir, rel.Components, rel.Architectures)
			}
			data, err := fetchIndexFile(ctx, c, repo, rel, fh, cacheDir)
			if err != nil {
				return nil, err
			}
			r, err := decompressor(fh.Path, data)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", repo.distURL(fh.Path), err)
			}
			got, err := ParsePackages(r, repo.Name)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", repo.distURL(fh.Path), err)
			}
			pkgs = append(pkgs, got...)
		}
	}
	return pkgs, nil
}

// fetchRelease gets and verifies InRelease, or Release + Release.gpg.
func fetchRelease(ctx context.Context, c *http.Client, repo Repository, keys openpgp.EntityList) (*Release, error) {
	u := repo.distURL("InRelease")
	data, err := get(ctx, c, u, 64<<20)
	switch {
	case err == nil:
		text, err := clearsignedText(data, keys)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", u, err)
		}
		rel, err := ParseRelease(text)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", u, err)
		}
		return rel, nil
	case !errors.Is(err, errNotFound):
		return nil, err
	}
	u = repo.distURL("Release")
	data, err = get(ctx, c, u, 64<<20)
	if err != nil {
		return nil, fmt.Errorf("no InRelease, and %w", err)
	}
	if keys != nil {
		su := repo.distURL("Release.gpg")
		sig, err := get(ctx, c, su, 1<<20)
		if err != nil {
			return nil, fmt.Errorf("no InRelease, and a keyring is set but %w", err)
		}
		if err := checkDetached(data, sig, keys); err != nil {
			return nil, fmt.Errorf("%s: %w", su, err)
		}
	}
	rel, err := ParseRelease(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", u, err)
	}
	return rel, nil
}

// pickIndex chooses the Packages variant to download: xz is smallest, gz is
// next, plain last.
func pickIndex(rel *Release, dir string) (FileHash, bool) {
	for _, ext := range []string{".xz", ".gz", ""} {
		if fh, ok := rel.Files[dir+"Packages"+ext]; ok {
			return fh, true
		}
	}
	return FileHash{}, false
}

// fetchIndexFile returns the verified bytes of one index file, from the cache
// when present. With Acquire-By-Hash the file is fetched by its hash, which
// cannot race a mirror update; the plain path is the fallback.
func fetchIndexFile(ctx context.Context, c *http.Client, repo Repository, rel *Release, fh FileHash, cacheDir string) ([]byte, error) {
	var cachePath string
	if cacheDir != "" {
		cachePath = filepath.Join(cacheDir, "indexes", "sha256", fh.SHA256)
		if data, err := os.ReadFile(cachePath); err == nil && verifyBytes(data, fh) == nil {
			return data, nil
		}
	}
	u := repo.distURL(fh.Path)
	var (
		data []byte
		err  error
	)
	if rel.AcquireByHash {
		byHash := repo.distURL(path.Dir(fh.Path) + "/by-hash/SHA256/" + fh.SHA256)
		data, err = get(ctx, c, byHash, fh.Size+1)
		if err != nil && !errors.Is(err, errNotFound) {
			return nil, err
		}
	}
	if data == nil {
		if data, err = get(ctx, c, u, fh.Size+1); err != nil {
			return nil, err
		}
	}
	if err := verifyBytes(data, fh); err != nil {
		return nil, fmt.Errorf("%s: %w", u, err)
	}
	if cachePath != "" {
		if err := writeFileAtomic(cachePath, data); err != nil {
			return nil, fmt.Errorf("index cache: %w", err)
		}
	}
	return data, nil
}

func verifyBytes(data []byte, fh FileHash) error {
	if int64(len(data)) != fh.Size {
		return fmt.Errorf("size mismatch: Release says %d bytes, got %d", fh.Size, len(data))
	}
	sum := sha256.Sum256(data)
	if got := hex.EncodeToString(sum[:]); got != fh.SHA256 {
		return fmt.Errorf("SHA256 mismatch: Release says %s, got %s", fh.SHA256, got)
	}
	return nil
}

func decompressor(name string, data []byte) (io.Reader, error) {
	switch {
	case strings.HasSuffix(name, ".xz"):
		r, err := xz.NewReader(bytes.NewReader(data))
		if err != nil {
			return nil, fmt.Errorf("xz: %w", err)
		}
		return r, nil
	case strings.HasSuffix(name, ".gz"):
		r, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
		return r, nil
	}
	return bytes.NewReader(data), nil
}

var errNotFound = errors.New("not found")

// open opens an http(s):// or file:// URL. A missing file or a 404/410 wraps
// errNotFound so callers can fall back (InRelease → Release, by-hash → path).
func open(ctx context.Context, c *http.Client, rawURL string) (io.ReadCloser, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("%q: %w", rawURL, err)
	}
	switch u.Scheme {
	case "file":
		f, err := os.Open(filepath.FromSlash(u.Path))
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%s: %w", rawURL, errNotFound)
		}
		return f, err
	case "http", "https":
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
		if err != nil {
			return nil, err
		}
		resp, err := c.Do(req)
		if err != nil {
			return nil, err
		}
		switch {
		case resp.StatusCode == http.StatusOK:
			return resp.Body, nil
		case resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusGone:
			resp.Body.Close()
			return nil, fmt.Errorf("GET %s: %s: %w", rawURL, resp.Status, errNotFound)
		default:
			resp.Body.Close()
			return nil, fmt.Errorf("GET %s: %s", rawURL, resp.Status)
		}
	}
	return nil, fmt.Errorf("%q: unsupported URL scheme %q (want http, https or file)", rawURL, u.Scheme)
}

// get reads a whole URL, refusing more than limit bytes.
func get(ctx context.Context, c *http.Client, rawURL string, limit int64) ([]byte, error) {
	rc, err := open(ctx, c, rawURL)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, limit+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", rawURL, err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s: larger than %d bytes", rawURL, limit)
	}
	return data, nil
}

// writeFileAtomic writes data via a temp file, fsync and rename, so a crash
// never leaves a truncated file under the final (content-addressed) name.
func writeFileAtomic(dst string, data []byte) error {
	return writeAtomic(dst, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// writeAtomic creates dst's directory and replaces dst crash-safely, so a
// cached file is never truncated under its (content-addressed) name.
func writeAtomic(dst string, fill func(io.Writer) error) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	return atomicfile.WriteFrom(dst, 0o644, fill)
}
