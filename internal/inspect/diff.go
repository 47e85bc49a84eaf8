package inspect

import (
	"archive/tar"
	"fmt"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// DiffReport lists how image To's filesystem, packages and configuration
// differ from From's.
type DiffReport struct {
	From     string          `json:"from"` // digests
	To       string          `json:"to"`
	Files    []FileChange    `json:"files"`    // sorted by path
	Packages []PackageChange `json:"packages"` // sorted by name
	Config   []ConfigChange  `json:"config"`   // in diffConfig's order
}

// Empty says the two images do not differ in anything compared.
func (r *DiffReport) Empty() bool {
	return len(r.Files) == 0 && len(r.Packages) == 0 && len(r.Config) == 0
}

// FileChange is one path that differs.
type FileChange struct {
	Path   string `json:"path"`   // absolute: "/etc/app.conf"
	Change string `json:"change"` // added | removed | changed
	Type   string `json:"type"`   // file | dir | symlink | hardlink | char | block | fifo (the new one, for removals the old)
	// What changed, for "changed": any of type, content, mode, owner, link.
	// A type change is reported alone: the other attributes are not comparable.
	What []string `json:"what,omitempty"`
}

// Diff flattens both images (layers applied in order with whiteouts and
// opaque directories; regular files hashed with sha256) and compares them,
// and their configurations (diffConfig).
// Modification times are ignored: berth's builds pin them, and a rebuilt
// file with the same bytes is not a change anyone acts on.
func Diff(a, b v1.Image) (*DiffReport, error) {
	fa, da, err := flattenImage(a)
	if err != nil {
		return nil, fmt.Errorf("first image: %w", err)
	}
	fb, db, err := flattenImage(b)
	if err != nil {
		return nil, fmt.Errorf("second image: %w", err)
	}
	r := &DiffReport{From: da.String(), To: db.String(), Files: []FileChange{}}
	// Merge the two sorted path lists.
	pa, pb := fa.sortedPaths(), fb.sortedPaths()
	i, j := 0, 0
	for i < len(pa) || j < len(pb) {
		switch {
		case j == len(pb) || (i < len(pa) && pa[i] < pb[j]):
			e := fa[pa[i]]
			r.Files = append(r.Files, FileChange{Path: "/" + e.Path, Change: "removed", Type: typeName(e.Type)})
			i++
		case i == len(pa) || pb[j] < pa[i]:
			e := fb[pb[j]]
			r.Files = append(r.Files, FileChange{Path: "/" + e.Path, Change: "added", Type: typeName(e.Type)})
			j++
		default:
			ea, eb := fa[pa[i]], fb[pb[j]]
			if what := compareEntries(ea, eb); len(what) > 0 {
				r.Files = append(r.Files, FileChange{Path: "/" + eb.Path, Change: "changed", Type: typeName(eb.Type), What: what})
			}
			i++
			j++
		}
	}
	r.Packages = diffPackages(packages(fa), packages(fb))
	cfa, err := a.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("first image: config: %w", err)
	}
	cfb, err := b.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("second image: config: %w", err)
	}
	r.Config = diffConfig(cfa, cfb)
	return r, nil
}

func compareEntries(a, b *fsEntry) []string {
	if a.Type != b.Type {
		return []string{"type"}
	}
	var what []string
	switch a.Type {
	case tar.TypeReg:
		if a.SHA256 != b.SHA256 || a.Size != b.Size {
			what = append(what, "content")
		}
	case tar.TypeChar, tar.TypeBlock:
		if a.Devmajor != b.Devmajor || a.Devminor != b.Devminor {
			what = append(what, "content")
		}
	}
	if a.Mode != b.Mode {
		what = append(what, "mode")
	}
	if a.UID != b.UID || a.GID != b.GID {
		what = append(what, "owner")
	}
	if (a.Type == tar.TypeSymlink || a.Type == tar.TypeLink) && a.Linkname != b.Linkname {
		what = append(what, "link")
	}
	return what
}

// flattenImage returns img's final filesystem with file contents hashed.
func flattenImage(img v1.Image) (filesystem, v1.Hash, error) {
	d, err := img.Digest()
	if err != nil {
		return nil, v1.Hash{}, fmt.Errorf("digest: %v", err)
	}
	layers, err := img.Layers()
	if err != nil {
		return nil, v1.Hash{}, fmt.Errorf("layers: %v", err)
	}
	fs := filesystem{}
	for i, l := range layers {
		s, err := scanLayer(l, i, scanOptions{hash: true})
		if err != nil {
			return nil, v1.Hash{}, err
		}
		fs.apply(s)
	}
	return fs, d, nil
}
