package source

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"

	"github.com/berth-dev/berth/internal/build/goflags"
	"github.com/berth-dev/berth/internal/build/layer"
)

// GoOptions configures a Go binary layer.
type GoOptions struct {
	// Context is the build context: Dir, the package and every local
	// file the build reads must resolve inside it (the standard library
	// and module-cache dependencies excepted). "" means Dir.
	Context string   `json:"-"`
	Dir     string   // module directory (go build runs here)
	Package string   // main package, relative to Dir ("./cmd/web")
	Output  string   // image path of the binary ("/app/web")
	Ldflags string   // extra linker flags; "-buildid=" is always appended
	Tags    []string // build tags
	// GOOS/GOARCH default to the host's.
	GOOS, GOARCH string
	// Env entries (KEY=VALUE) are applied last, so they can override the
	// defaults CGO_ENABLED=0 and GOFLAGS= (at the cost of reproducibility).
	Env  []string
	Mode int64 // of the binary; 0 means 0755
	// StatCache is a directory where Key remembers its result against a
	// fingerprint of the module's files (path, size, mtime), so an
	// unchanged module is not asked of the go command again; "" = off.
	StatCache string `json:"-"`
}

// Go builds a static Go binary reproducibly: -trimpath, no VCS stamping and
// an empty build ID make the bytes independent of the checkout location,
// clock and build cache state.
type Go struct {
	o GoOptions

	once   sync.Once
	binary []byte
	err    error
}

// NewGo validates o.
func NewGo(o GoOptions) (*Go, error) {
	if o.Dir == "" {
		return nil, errors.New("go: dir is empty")
	}
	if err := goflags.CheckPackage(o.Package); err != nil {
		return nil, fmt.Errorf("go: %w", err)
	}
	if err := goflags.ValidateLdflags(o.Ldflags); err != nil {
		return nil, fmt.Errorf("go: ldflags: %w", err)
	}
	if o.Context == "" {
		o.Context = o.Dir
	}
	c, err := openContext(o.Context)
	if err != nil {
		return nil, fmt.Errorf("go: %w", err)
	}
	// Dir is written under the context as given (maybe through a
	// symlink); resolve it from there against the real context.
	rel, err := filepath.Rel(o.Context, o.Dir)
	if err != nil {
		return nil, fmt.Errorf("go: dir %s: %w", o.Dir, err)
	}
	if _, _, err := c.resolve(rel); err != nil {
		return nil, fmt.Errorf("go: dir: %w", err)
	}
	if goflags.IsLocalPackage(o.Package) {
		if _, _, err := c.resolve(filepath.Join(rel, goflags.LocalPackagePath(o.Package))); err != nil {
			return nil, fmt.Errorf("go: package: %w", err)
		}
	}
	out, err := layer.CleanPath(o.Output)
	if err != nil {
		return nil, fmt.Errorf("go: output: %w", err)
	}
	o.Output = out
	if o.Mode == 0 {
		o.Mode = 0o755
	}
	if o.Mode < 0 || o.Mode > 0o7777 {
		return nil, fmt.Errorf("go: mode %#o outside 0..07777", o.Mode)
	}
	if o.GOOS == "" {
		o.GOOS = runtime.GOOS
	}
	if o.GOARCH == "" {
		o.GOARCH = runtime.GOARCH
	}
	for _, tag := range o.Tags {
		if err := goflags.CheckTag(tag); err != nil {
			return nil, fmt.Errorf("go: %w", err)
		}
	}
	for _, kv := range o.Env {
		if !strings.Contains(kv, "=") {
			return nil, fmt.Errorf("go: env %q: want KEY=VALUE", kv)
		}
	}
	return &Go{o: o}, nil
}

// Key is the hash of the options and of the binary itself: the build is
// reproducible, so equal inputs give equal binaries, and building is the
// only way to know the binary. To keep a no-op rebuild from paying for a
// link (-buildid= stops go build from recognising an up-to-date binary),
// the key is remembered against a fingerprint of the module's files (see
// fingerprint) and reused while nothing the build reads changed.
func (g *Go) Key(ctx context.Context) (string, error) {
	fp, memo := g.fingerprint()
	var m goKeyMemo
	if memo != "" {
		if raw, err := os.ReadFile(memo); err == nil {
			if json.Unmarshal(raw, &m) == nil && m.Key != "" && m.matches(fp) {
				return m.Key, nil
			}
		}
	}
	if err := g.build(ctx); err != nil {
		return "", err
	}
	opts := g.o
	opts.Dir = "" // the build is location-independent (-trimpath)
	k := newKey("go", opts)
	k.add(sha256.Sum256(g.binary))
	key, err := k.sum()
	if err == nil && memo != "" {
		raw, _ := json.Marshal(goKeyMemo{Go: fp.Go, All: fp.All, UsesEmbed: fp.usesEmbed(), Key: key})
		_ = writeCacheFile(memo, raw) // a lost memo only costs a link
	}
	return key, err
}

// Tree holds the binary at Output, owned by root.
func (g *Go) Tree(ctx context.Context) (*layer.Tree, error) {
	if err := g.build(ctx); err != nil {
		return nil, err
	}
	t := layer.NewTree()
	bin := g.binary
	err := t.Add(layer.Entry{Path: g.o.Output, Type: tar.TypeReg, Mode: g.o.Mode, Size: int64(len(bin)),
		Open: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(bin)), nil }})
	return t, err
}

// build runs go build once per Go value.
func (g *Go) build(ctx context.Context) error {
	g.once.Do(func() { g.binary, g.err = g.run(ctx) })
	return g.err
}

func (g *Go) buildFlags() []string {
	ldflags := strings.TrimSpace(g.o.Ldflags + " -buildid=")
	args := []string{"-trimpath", "-buildvcs=false", "-ldflags", ldflags}
	if len(g.o.Tags) > 0 {
		args = append(args, "-tags", strings.Join(g.o.Tags, ","))
	}
	return args
}

// goCmd runs the go command in Dir with the reproducible environment.
func (g *Go) goCmd(ctx context.Context, stdout io.Writer, args ...string) error {
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = filepath.Join(runtime.GOROOT(), "bin", "go")
		if _, serr := os.Stat(goBin); serr != nil {
			return fmt.Errorf("go: no go command in PATH: %w", err)
		}
	}
	cmd := exec.CommandContext(ctx, goBin, args...)
	cmd.Dir = g.o.Dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=", "GOOS="+g.o.GOOS, "GOARCH="+g.o.GOARCH)
	cmd.Env = append(cmd.Env, g.o.Env...)
	var stderr bytes.Buffer
	cmd.Stdout = stdout
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go %s %s (in %s): %w\n%s", args[0], g.o.Package, g.o.Dir, err, strings.TrimSpace(stderr.String()))
	}
	return nil
}

func (g *Go) run(ctx context.Context) ([]byte, error) {
	tmp, err := os.MkdirTemp("", "berth-go-*")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	// Before anything is compiled: every local input inside the context.
	if err := g.checkInputs(ctx); err != nil {
		return nil, err
	}
	out := filepath.Join(tmp, "bin")
	args := append([]string{"build"}, g.buildFlags()...)
	args = append(args, "-o", out, g.o.Package)
	if err := g.goCmd(ctx, io.Discard, args...); err != nil {
		return nil, err
	}
	bin, err := os.ReadFile(out)
	if err != nil {
		return nil, fmt.Errorf("go build %s: %w", g.o.Package, err)
	}
	// go build -o writes a package archive for a non-main package.
	if bytes.HasPrefix(bin, []byte("!<arch>\n")) {
		return nil, fmt.Errorf("go: package %s is not a main package", g.o.Package)
	}
	return bin, nil
}
