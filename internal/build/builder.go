// Package build turns the images of a berth.yaml into OCI images: one layer
// per declared concern, each built from its source only when the source's
// inputs changed (the cache is keyed by them), reproducibly.
package build

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"maps"
	"net/http"
	"runtime"
	"sort"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/berth-dev/berth/internal/build/cache"
	"github.com/berth-dev/berth/internal/build/layer"
	"github.com/berth-dev/berth/internal/imageref"
	"github.com/berth-dev/berth/internal/spec"
)

// Builder builds the images of one berth.yaml.
type Builder struct {
	File     *spec.File
	Cache    *cache.Cache
	CacheDir string // downloads, indexes, stat cache
	HTTP     *http.Client
	// Epoch is the timestamp written into every layer entry, the config
	// and the history (SOURCE_DATE_EPOCH, else the Unix epoch).
	Epoch time.Time
	// Lock pins Debian packages; LockPath is where a new lock is written.
	Lock     *Lockfile
	LockPath string
	// Frozen forbids resolving: every debs layer must be in Lock.
	Frozen bool
	// Progress receives one line per step (nil: silent).
	Progress func(Event)
	// RefOptions are used to load base images.
	RefOptions imageref.Options
	// Pushed, when set, is called by BuildTo after each image it pushed
	// to a registry (to attach its SBOMs and provenance); an error fails
	// the build.
	Pushed func(ctx context.Context, w Written) error

	built       map[string]*Result
	lockChanged bool
	debIndex    *debIndexCache
}

// Event reports progress.
type Event struct {
	Image, Layer string
	Status       string // "cached", "built", "resolving", "downloading"
	Detail       string
	Duration     time.Duration
}

// LayerResult describes one layer of a built image.
type LayerResult struct {
	Name     string        `json:"name"`
	Kind     string        `json:"kind"`
	Digest   string        `json:"digest"`
	DiffID   string        `json:"diffID"`
	Size     int64         `json:"size"`
	Files    int           `json:"files"`
	Cached   bool          `json:"cached"`
	Duration time.Duration `json:"duration"`
	// SourceKey is the content key of the layer's inputs (the cache key
	// of its source: packages by SHA256, files by content, a Go build by
	// its binary), recorded in the image's provenance.
	SourceKey string `json:"sourceKey"`
}

// Result is a built image.
type Result struct {
	Name    string        `json:"image"`
	Variant string        `json:"variant,omitempty"`
	Digest  string        `json:"digest"`
	Layers  []LayerResult `json:"layers"` // this image's own layers (not its base's)
	Base    string        `json:"base"`
	Image   v1.Image      `json:"-"`
	// Packages are the Debian packages the image's debs layers (and those
	// of a base image of the same file) installed.
	Packages map[string]bool `json:"-"`
}

// LockChanged reports whether the build resolved packages that Lock did
// not pin (the caller writes Lock to LockPath).
func (b *Builder) LockChanged() bool { return b.lockChanged }

func (b *Builder) progress(e Event) {
	if b.Progress != nil {
		b.Progress(e)
	}
}

type platform struct {
	OS, Architecture, Variant string
}

func (p platform) String() string {
	s := p.OS + "/" + p.Architecture
	if p.Variant != "" {
		s += "/" + p.Variant
	}
	return s
}

func parsePlatform(s string) (platform, error) {
	if s == "" {
		return platform{OS: "linux", Architecture: runtime.GOARCH}, nil
	}
	parts := strings.Split(s, "/")
	if len(parts) < 2 || len(parts) > 3 || parts[0] == "" || parts[1] == "" {
		return platform{}, fmt.Errorf("platform %q: want os/arch[/variant]", s)
	}
	p := platform{OS: parts[0], Architecture: parts[1]}
	if len(parts) == 3 {
		p.Variant = parts[2]
	}
	return p, nil
}

// Build builds image name with variant ("" = prod), building any image of
// the file it is based on first. Results are memoised per build.
func (b *Builder) Build(ctx context.Context, name, variant string) (*Result, error) {
	key := name + "\x00" + variant
	if r, ok := b.built[key]; ok {
		return r, nil
	}
	if b.built == nil {
		b.built = map[string]*Result{}
	}
	img, err := b.File.Image(name, variant)
	if err != nil {
		return nil, err
	}
	base, plat, baseDesc, err := b.base(ctx, img)
	if err != nil {
		return nil, err
	}
	res := &Result{Name: name, Variant: variant, Base: baseDesc.name, Packages: maps.Clone(baseDesc.packages)}
	if res.Packages == nil {
		res.Packages = map[string]bool{}
	}
	cur := base
	for i, l := range img.Layers {
		lr, lay, err := b.buildLayer(ctx, img, b.layerVariant(name, variant, i), l, plat, res.Packages)
		if err != nil {
			return nil, err
		}
		res.Layers = append(res.Layers, lr)
		cur, err = mutate.Append(cur, mutate.Addendum{
			Layer: lay,
			History: v1.History{
				Created:   v1.Time{Time: b.Epoch},
				CreatedBy: "berth: " + l.Name,
				Comment:   lr.Kind,
			},
		})
		if err != nil {
			return nil, err
		}
	}
	cur, err = b.applyConfig(cur, img, plat, baseDesc)
	if err != nil {
		return nil, fmt.Errorf("image %s: config: %w", name, err)
	}
	d, err := cur.Digest()
	if err != nil {
		return nil, err
	}
	res.Digest = d.String()
	res.Image = cur
	b.built[key] = res
	return res, nil
}

// baseInfo records where an image's base came from, for the
// org.opencontainers.image.base.* annotations.
type baseInfo struct {
	name     string
	digest   string
	packages map[string]bool // installed by a base image of the same file
	local    bool            // the base is an image of the same file
}

func (b *Builder) base(ctx context.Context, img *spec.Image) (v1.Image, platform, baseInfo, error) {
	plat, err := parsePlatform(img.Platform)
	if err != nil {
		return nil, plat, baseInfo{}, fmt.Errorf("%s: %w", img.Pos, err)
	}
	switch img.FromKind {
	case spec.FromScratch:
		base := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
		base = mutate.ConfigMediaType(base, types.OCIConfigJSON)
		return base, plat, baseInfo{name: "scratch"}, nil
	case spec.FromImage:
		r, err := b.Build(ctx, img.From, "")
		if err != nil {
			return nil, plat, baseInfo{}, err
		}
		cf, err := r.Image.ConfigFile()
		if err != nil {
			return nil, plat, baseInfo{}, err
		}
		if img.Platform == "" {
			plat = platform{OS: cf.OS, Architecture: cf.Architecture, Variant: cf.Variant}
		}
		return r.Image, plat, baseInfo{name: img.From, digest: r.Digest, packages: r.Packages, local: true}, nil
	default:
		ref := img.From
		switch img.FromKind {
		case spec.FromOCILayout:
			ref = imageref.LayoutPrefix + img.From
		case spec.FromDockerArchive:
			ref = imageref.ArchivePrefix + img.From
		}
		o := b.RefOptions
		o.Platform = &v1.Platform{OS: plat.OS, Architecture: plat.Architecture, Variant: plat.Variant}
		base, err := imageref.Load(ctx, ref, o)
		if err != nil {
			return nil, plat, baseInfo{}, fmt.Errorf("%s: from %q: %w", img.Pos, img.From, err)
		}
		d, err := base.Digest()
		if err != nil {
			return nil, plat, baseInfo{}, err
		}
		name, err := imageref.BaseName(ref)
		if err != nil {
			name = img.From
		}
		return base, plat, baseInfo{name: name, digest: d.String()}, nil
	}
}

// buildLayer returns the layer from the cache when its source's key is
// known, and builds (and caches) it otherwise.
// installed is updated with the packages a debs layer installs.
func (b *Builder) buildLayer(ctx context.Context, img *spec.Image, variant string, l spec.Layer, plat platform, installed map[string]bool) (LayerResult, v1.Layer, error) {
	start := time.Now()
	lr := LayerResult{Name: l.Name, Kind: l.Kind()}
	src, err := b.sourceFor(img, variant, l, plat, installed)
	if err != nil {
		return lr, nil, layerError(img, l, err)
	}
	srcKey, err := src.Key(ctx)
	if err != nil {
		return lr, nil, layerError(img, l, err)
	}
	lr.SourceKey = srcKey
	if ds, ok := src.(*debsSource); ok {
		for _, p := range ds.locked.Packages {
			installed[p.Name] = true
		}
	}
	opts := layer.Options{MTime: b.Epoch, GzipLevel: gzipLevel(l.Kind())}
	h := sha256.Sum256([]byte(fmt.Sprintf("%s\x00mtime=%d\x00gzip=%s/%d", srcKey, b.Epoch.Unix(), layer.Compressor, opts.GzipLevel)))
	key := hex.EncodeToString(h[:])
	built, ok := b.Cache.Lookup(key)
	lr.Cached = ok
	if !ok {
		tree, err := src.Tree(ctx)
		if err != nil {
			return lr, nil, layerError(img, l, err)
		}
		fresh, err := layer.Build(tree, b.Cache.TempDir(), opts)
		if err != nil {
			return lr, nil, layerError(img, l, err)
		}
		if built, err = b.Cache.Store(key, fresh); err != nil {
			return lr, nil, err
		}
	}
	lay, err := cache.LayerOf(built)
	if err != nil {
		return lr, nil, err
	}
	lr.Digest, lr.DiffID = built.Digest.String(), built.DiffID.String()
	lr.Size, lr.Files = built.Size, built.Files
	lr.Duration = time.Since(start)
	status := "built"
	if lr.Cached {
		status = "cached"
	}
	b.progress(Event{Image: img.Name, Layer: l.Name, Status: status, Detail: lr.Digest, Duration: lr.Duration})
	return lr, lay, nil
}

// layerError says which image and layer failed and where in berth.yaml the
// layer is declared, unless the source's error already starts there (debs
// errors carry the position because lockImage reports them unwrapped).
func layerError(img *spec.Image, l spec.Layer, err error) error {
	pos := l.Pos.String()
	if strings.HasPrefix(err.Error(), pos+":") {
		return fmt.Errorf("image %s, layer %s: %w", img.Name, l.Name, err)
	}
	return fmt.Errorf("%s: image %s, layer %s: %w", pos, img.Name, l.Name, err)
}

// LockAll resolves every debs layer of the named images (all images when
// names is empty), in every variant, into a fresh lock, ignoring the
// current one. Nothing is downloaded or built. The lock counts as changed
// (LockChanged, so BuildTo writes it) only if it pins some layer.
func (b *Builder) LockAll(ctx context.Context, names []string) error {
	if len(names) == 0 {
		names = b.File.ImageOrder
	}
	b.Lock = &Lockfile{Version: LockVersion}
	b.Frozen = false
	memo := map[string]map[string]bool{}
	for _, name := range names {
		img, ok := b.File.Images[name]
		if !ok {
			return fmt.Errorf("no image %q in %s (images: %s)", name, b.File.Path, strings.Join(b.File.ImageOrder, ", "))
		}
		variants := []string{""}
		for v := range img.Variants {
			variants = append(variants, v)
		}
		sort.Strings(variants)
		for _, v := range variants {
			if _, err := b.lockImage(ctx, name, v, memo); err != nil {
				return err
			}
		}
	}
	// Nothing to pin (no debs layers): a build writes no lock file. `berth
	// lock` writes b.Lock itself, empty or not.
	b.lockChanged = len(b.Lock.Layers) > 0
	return nil
}

// LockFirst makes the first lock when there is none (a build's first):
// once a lock exists, builds never resolve again, so the first lock must
// pin every image and variant (as LockAll does for `berth lock`), not
// only the ones this build names. Otherwise building the dev variant after
// the prod image fails with "run berth lock", and the lock's content would
// depend on what was built first. An existing lock is left as it is.
func (b *Builder) LockFirst(ctx context.Context) error {
	if b.Lock != nil {
		return nil
	}
	return b.LockAll(ctx, nil)
}

// lockImage resolves one image's debs layers after its file base's and
// returns the packages installed in it.
func (b *Builder) lockImage(ctx context.Context, name, variant string, memo map[string]map[string]bool) (map[string]bool, error) {
	key := name + "\x00" + variant
	if m, ok := memo[key]; ok {
		return m, nil
	}
	full, err := b.File.Image(name, variant)
	if err != nil {
		return nil, err
	}
	installed := map[string]bool{}
	if full.FromKind == spec.FromImage {
		base, err := b.lockImage(ctx, full.From, "", memo)
		if err != nil {
			return nil, err
		}
		installed = maps.Clone(base)
	}
	plat, err := b.platformOf(ctx, full)
	if err != nil {
		return nil, err
	}
	for i, l := range full.Layers {
		if l.Debs == nil {
			continue
		}
		src, err := b.newDebsSource(name, b.layerVariant(name, variant, i), l, plat, maps.Clone(installed))
		if err != nil {
			return nil, err
		}
		ll, err := src.resolve(ctx)
		if err != nil {
			return nil, err
		}
		for _, p := range ll.Packages {
			installed[p.Name] = true
		}
	}
	memo[key] = installed
	return installed, nil
}

// platformOf is the platform an image is built for: its own, its file
// base's, or the host's.
func (b *Builder) platformOf(ctx context.Context, img *spec.Image) (platform, error) {
	if img.Platform == "" && img.FromKind == spec.FromImage {
		base, err := b.File.Image(img.From, "")
		if err != nil {
			return platform{}, err
		}
		return b.platformOf(ctx, base)
	}
	return parsePlatform(img.Platform)
}

// layerVariant is the variant a layer belongs to: "" for the image's own
// layers (shared by every variant, so locked and cached once), the variant
// for the layers it adds on top.
func (b *Builder) layerVariant(image, variant string, i int) string {
	if img, ok := b.File.Images[image]; ok && i < len(img.Layers) {
		return ""
	}
	return variant
}

// gzipLevel: OS layers (packages, rootfs tarballs) change on a security
// cadence and are pulled by every host, so they get the best compression;
// app layers change on every commit, so they get the fast default.
func gzipLevel(kind string) int {
	switch kind {
	case "debs", "tar":
		return 9
	}
	return layer.DefaultGzipLevel
}

// Relock is `berth lock`: LockAll of names, then the lock written (empty
// or not) and what it holds said on stdout.
func (b *Builder) Relock(ctx context.Context, names []string, stdout io.Writer) error {
	if err := b.LockAll(ctx, names); err != nil {
		return err
	}
	if err := b.Lock.Write(b.LockPath); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s: %d layers, %d packages\n", b.LockPath, len(b.Lock.Layers), b.Lock.Packages())
	return nil
}
