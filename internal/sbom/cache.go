package sbom

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/berth-dev/berth/internal/atomicfile"
)

// cacheVersion changes when Scan's results change for the same image.
const cacheVersion = "v1"

// CacheDir is where the inventories are cached under berth's cache
// directory ("" when there is none): the build writes them there when it
// makes the SBOMs it attaches, so a scan of the image it just pushed (berth
// scan, the policy gate) reads the same inventory.
func CacheDir(cacheDir string) string {
	if cacheDir == "" {
		return ""
	}
	return filepath.Join(cacheDir, "sbom")
}

// ScanCached is Scan with the inventory kept in dir by image digest: an
// image is read once, and a rebuild that gives the same image costs one
// small file read. dir "" disables the cache; a missing or unreadable
// entry is scanned again (and rewritten).
func ScanCached(img v1.Image, name, dir string) (*Inventory, error) {
	if dir == "" {
		return Scan(img, name)
	}
	d, err := img.Digest()
	if err != nil {
		return nil, err
	}
	p := filepath.Join(dir, cacheVersion+"-"+strings.TrimPrefix(d.String(), "sha256:")+".json")
	if raw, err := os.ReadFile(p); err == nil {
		var inv Inventory
		if json.Unmarshal(raw, &inv) == nil && inv.Digest == d.String() {
			inv.Name = name
			return &inv, nil
		}
	}
	inv, err := Scan(img, name)
	if err != nil {
		return nil, err
	}
	if raw, err := json.Marshal(inv); err == nil && os.MkdirAll(dir, 0o755) == nil {
		_ = atomicfile.Write(p, raw, 0o644) // a lost cache entry only costs a scan
	}
	return inv, nil
}
