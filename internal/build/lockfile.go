package build

import (
	"github.com/berth-dev/berth/internal/atomicfile"

	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"sort"
)

// LockVersion is the berth.lock format version.
const LockVersion = 1

// Lockfile pins every Debian package a build resolved: with it, a build
// downloads exactly these files (by SHA256) and never resolves again.
type Lockfile struct {
	Version int         `json:"lockVersion"`
	Layers  []LockLayer `json:"layers"`
}

// LockLayer is the resolution of one debs layer.
type LockLayer struct {
	Image        string          `json:"image"`
	Variant      string          `json:"variant,omitempty"`
	Layer        string          `json:"layer"`
	Architecture string          `json:"architecture"`
	Request      []string        `json:"request"`      // the packages the layer asks for, sorted
	Repositories []string        `json:"repositories"` // the repositories it may use, sorted
	Packages     []LockedPackage `json:"packages"`
}

// LockedPackage is one resolved package.
type LockedPackage struct {
	Name         string `json:"name"`
	Version      string `json:"version"`
	Architecture string `json:"architecture"`
	Repository   string `json:"repository"`
	Filename     string `json:"filename"`
	SHA256       string `json:"sha256"`
	Size         int64  `json:"size"`
}

// Packages counts the packages the lock file pins, over all its layers.
func (l *Lockfile) Packages() int {
	n := 0
	for _, layer := range l.Layers {
		n += len(layer.Packages)
	}
	return n
}

// ReadLockfile reads path; a missing file gives (nil, nil).
func ReadLockfile(path string) (*Lockfile, error) {
	raw, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var l Lockfile
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&l); err != nil {
		return nil, fmt.Errorf("%s: %w (delete it and run `berth lock`)", path, err)
	}
	if l.Version != LockVersion {
		return nil, fmt.Errorf("%s: lockVersion %d is not supported (want %d); run `berth lock`", path, l.Version, LockVersion)
	}
	return &l, nil
}

// Write writes the lock file atomically (temp file, fsync, rename), sorted
// so that the same resolution always gives the same bytes.
func (l *Lockfile) Write(path string) error {
	raw, err := l.Bytes()
	if err != nil {
		return err
	}
	return atomicfile.Write(path, raw, 0o644)
}

// Bytes is the lock file's content as Write writes it (sorted).
func (l *Lockfile) Bytes() ([]byte, error) {
	l.Version = LockVersion
	sort.Slice(l.Layers, func(i, j int) bool {
		a, b := l.Layers[i], l.Layers[j]
		if a.Image != b.Image {
			return a.Image < b.Image
		}
		if a.Variant != b.Variant {
			return a.Variant < b.Variant
		}
		return a.Layer < b.Layer
	})
	for _, ll := range l.Layers {
		sort.Slice(ll.Packages, func(i, j int) bool { return ll.Packages[i].Name < ll.Packages[j].Name })
	}
	raw, err := json.MarshalIndent(l, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(raw, '\n'), nil
}

// Find returns the entry for a layer if it exists and still matches what
// the layer asks for.
func (l *Lockfile) Find(image, variant, layer, arch string, request, repos []string) (*LockLayer, bool) {
	if l == nil {
		return nil, false
	}
	for i := range l.Layers {
		ll := &l.Layers[i]
		if ll.Image == image && ll.Variant == variant && ll.Layer == layer && ll.Architecture == arch &&
			slices.Equal(ll.Request, request) && slices.Equal(ll.Repositories, repos) {
			return ll, true
		}
	}
	return nil, false
}

// Put adds or replaces the entry for ll's layer.
func (l *Lockfile) Put(ll LockLayer) {
	for i := range l.Layers {
		e := l.Layers[i]
		if e.Image == ll.Image && e.Variant == ll.Variant && e.Layer == ll.Layer && e.Architecture == ll.Architecture {
			l.Layers[i] = ll
			return
		}
	}
	l.Layers = append(l.Layers, ll)
}
