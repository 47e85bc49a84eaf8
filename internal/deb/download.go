package deb

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
)

// DebPath is where Download keeps a package with the given SHA256.
func DebPath(cacheDir, sha256Hex string) string {
	return filepath.Join(cacheDir, "debs", "sha256", sha256Hex+".deb")
}

// Download fetches p's pool file from the repository it came from, verifies
// size and SHA256 against the index, and stores it content-addressed under
// cacheDir/debs/sha256/<hex>.deb. A cached file is re-hashed instead of
// downloaded, so a cache hit touches no network and a damaged file is fetched
// again rather than trusted.
func Download(ctx context.Context, c *http.Client, repos []Repository, p *Package, cacheDir string) (string, error) {
	if c == nil {
		c = http.DefaultClient
	}
	if cacheDir == "" {
		return "", errors.New("download: no cache directory")
	}
	if !isHex(p.SHA256, 64) {
		return "", fmt.Errorf("package %s: SHA256 %q is not a SHA-256 hex digest", p, p.SHA256)
	}
	sum := strings.ToLower(p.SHA256)
	dst := DebPath(cacheDir, sum)
	if err := verifyFile(dst, p.Size, sum); err == nil {
		return dst, nil
	}
	var repo *Repository
	for i := range repos {
		if repos[i].Name == p.Repo {
			repo = &repos[i]
		}
	}
	if repo == nil {
		return "", fmt.Errorf("package %s: repository %q is not configured", p, p.Repo)
	}
	clean := path.Clean("/" + p.Filename)[1:]
	if clean != p.Filename || clean == "" {
		return "", fmt.Errorf("package %s: Filename %q must be a clean relative path", p, p.Filename)
	}
	u := joinURL(repo.URL, p.Filename)
	rc, err := open(ctx, c, u)
	if err != nil {
		return "", fmt.Errorf("package %s: %w", p, err)
	}
	defer rc.Close()
	err = writeAtomic(dst, func(w io.Writer) error {
		h := sha256.New()
		n, err := io.Copy(io.MultiWriter(w, h), io.LimitReader(rc, p.Size+1))
		if err != nil {
			return fmt.Errorf("%s: %w", u, err)
		}
		if n != p.Size {
			return fmt.Errorf("%s: size mismatch: index says %d bytes, got %d", u, p.Size, n)
		}
		if got := hex.EncodeToString(h.Sum(nil)); got != sum {
			return fmt.Errorf("%s: SHA256 mismatch: index says %s, got %s", u, sum, got)
		}
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("package %s: %w", p, err)
	}
	return dst, nil
}

// DownloadAll downloads packages with up to parallel transfers at once and
// returns their paths in the order of pkgs. The first error wins.
func DownloadAll(ctx context.Context, c *http.Client, repos []Repository, pkgs []*Package, cacheDir string, parallel int) ([]string, error) {
	if parallel < 1 {
		parallel = 1
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	paths := make([]string, len(pkgs))
	errs := make([]error, len(pkgs))
	sem := make(chan struct{}, parallel)
	var wg sync.WaitGroup
	for i, p := range pkgs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			paths[i], errs[i] = Download(ctx, c, repos, p, cacheDir)
			if errs[i] != nil {
				cancel()
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		// report a real failure rather than the cancellations it caused
		if err != nil && !errors.Is(err, context.Canceled) {
			return nil, err
		}
	}
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return paths, nil
}

func verifyFile(name string, size int64, sum string) error {
	f, err := os.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if st.Size() != size {
		return fmt.Errorf("%s: size %d, want %d", name, st.Size(), size)
	}
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return err
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != sum {
		return fmt.Errorf("%s: SHA256 %s, want %s", name, got, sum)
	}
	return nil
}
