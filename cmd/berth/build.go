package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	gcrname "github.com/google/go-containerregistry/pkg/name"
	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/internal/build"
	"github.com/berth-dev/berth/internal/build/cache"
	"github.com/berth-dev/berth/internal/imageref"
	"github.com/berth-dev/berth/internal/spec"
)

// specFlags are the flags every command reading berth.yaml shares.
type specFlags struct {
	file       string
	set        []string
	dockerfile string // build only: import a Dockerfile instead of berth.yaml
	// root widens what the file may read (--context DIR); "" = the
	// file's directory.
	root string
}

func (f *specFlags) add(cmd *cobra.Command) {
	cmd.Flags().StringVarP(&f.file, "file", "f", "berth.yaml", "berth.yaml to read")
	cmd.Flags().StringArrayVar(&f.set, "set", nil, "set a variable: --set KEY=VALUE (repeatable; overrides vars: and the environment)")
	cmd.Flags().StringVar(&f.root, "context", "", "the directory the file may read from, and its build context unless it sets context: (default: the file's directory; the file's context:, sources, base images and keyrings must stay inside it)")
}

// parseSet reads --set KEY=VALUE flags.
func parseSet(kvs []string) (map[string]string, error) {
	set := map[string]string{}
	for _, kv := range kvs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("--set %q: want KEY=VALUE", kv)
		}
		set[k] = v
	}
	return set, nil
}

func (f *specFlags) load() (*spec.File, error) {
	set, err := parseSet(f.set)
	if err != nil {
		return nil, err
	}
	if f.dockerfile != "" {
		return dockerfileAsSpec(f.dockerfile, f.root, set)
	}
	return spec.Load(f.file, spec.LoadOptions{Set: set, Root: f.root})
}

// dockerfileAsSpec imports a Dockerfile (its ARGs set by --set) as a file
// with one image named "image"; the build context is root (--context), else
// the Dockerfile's directory, as with `docker build -f FILE DIR`.
func dockerfileAsSpec(path, root string, args map[string]string) (*spec.File, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	// A missing Dockerfile is named as in every other command, before its
	// (then missing too) directory is looked at as the context.
	if _, err := os.Stat(abs); err != nil {
		return nil, err
	}
	dir := filepath.Dir(abs)
	if root == "" {
		root = dir
	}
	ctxDir, err := spec.RealRoot(root)
	if err != nil {
		return nil, fmt.Errorf("build context %s: %w", root, err)
	}
	img, err := spec.ParseDockerfileContext(abs, ctxDir, args)
	if err != nil {
		return nil, err
	}
	img.Name = "image"
	return &spec.File{Path: abs, Dir: dir, Context: ctxDir, Root: ctxDir, Vars: args,
		Images: map[string]*spec.Image{img.Name: img}, ImageOrder: []string{img.Name}}, nil
}

// cacheDir is where berth keeps build cache, downloads and indexes:
// $BERTH_CACHE, else $XDG_CACHE_HOME/berth, else ~/.cache/berth.
func cacheDir() (string, error) {
	if d := os.Getenv("BERTH_CACHE"); d != "" {
		return d, nil
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("no cache directory (set BERTH_CACHE): %w", err)
	}
	return filepath.Join(d, "berth"), nil
}

// sourceDateEpoch reads SOURCE_DATE_EPOCH (the reproducible-builds
// convention); unset means the Unix epoch.
func sourceDateEpoch() (time.Time, error) {
	s, ok := os.LookupEnv("SOURCE_DATE_EPOCH")
	if !ok || s == "" {
		return time.Unix(0, 0).UTC(), nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return time.Time{}, fmt.Errorf("SOURCE_DATE_EPOCH=%q: want a non-negative number of seconds", s)
	}
	return time.Unix(n, 0).UTC(), nil
}

func newBuilder(file *spec.File, progress io.Writer) (*build.Builder, error) {
	dir, err := cacheDir()
	if err != nil {
		return nil, err
	}
	c, err := cache.Open(filepath.Join(dir, "layers"))
	if err != nil {
		return nil, err
	}
	epoch, err := sourceDateEpoch()
	if err != nil {
		return nil, err
	}
	lockPath := filepath.Join(file.Dir, "berth.lock")
	lock, err := build.ReadLockfile(lockPath)
	if err != nil {
		return nil, err
	}
	b := &build.Builder{
		File: file, Cache: c, CacheDir: dir, HTTP: &http.Client{Timeout: 10 * time.Minute},
		Epoch: epoch, Lock: lock, LockPath: lockPath, Frozen: lock != nil,
	}
	if progress != nil {
		b.Progress = func(e build.Event) {
			line := fmt.Sprintf("%s/%s: %s", e.Image, e.Layer, e.Status)
			if e.Detail != "" {
				line += " " + e.Detail
			}
			if e.Duration > 0 {
				line += fmt.Sprintf(" (%s)", e.Duration.Round(time.Millisecond))
			}
			fmt.Fprintln(progress, line)
		}
	}
	return b, nil
}

type buildOutput struct {
	push, ociLayout, dockerArchive string
	tag                            string
}

func (o buildOutput) count() int {
	n := 0
	for _, s := range []string{o.push, o.ociLayout, o.dockerArchive} {
		if s != "" {
			n++
		}
	}
	return n
}

// destination is where image name goes, given how many images are built.
func (o buildOutput) destination(name string, several bool) (string, error) {
	switch {
	case o.push != "":
		if several {
			if !strings.HasSuffix(o.push, "/") {
				return "", fmt.Errorf("--push %q: with several images, give a repository prefix ending in '/' (each image goes to PREFIX<image>:%s)", o.push, o.tag)
			}
			return o.push + name + ":" + o.tag, nil
		}
		return o.push, nil
	case o.ociLayout != "":
		return imageref.LayoutPrefix + o.ociLayout + ":" + name, nil
	case o.dockerArchive != "":
		if several {
			return "", errors.New("--docker-archive takes one image; name the image to build")
		}
		return imageref.ArchivePrefix + o.dockerArchive + ":" + name + ":" + o.tag, nil
	}
	return "", nil
}

func newBuildCommand() *cobra.Command {
	var sf specFlags
	var out buildOutput
	var variant string
	var asJSON, quiet bool
	cmd := &cobra.Command{
		Use:   "build [IMAGE...]",
		Short: "Build images declared in berth.yaml, reproducibly, with no RUN steps",
		Long: `build makes the OCI images that berth.yaml declares: one layer per concern
(Debian packages, files, a Go program, users, paths, a rootfs tar), each cached
by its inputs, so an unchanged layer is never rebuilt or recompressed. The same
inputs give the same digests on any machine (timestamps come from
SOURCE_DATE_EPOCH, or the Unix epoch).

Without IMAGE, every image of the file is built. The digest of each image is
printed; --json prints a machine-readable result.`,
		Example: `  # Build the app image into an OCI layout
  berth build app --oci-layout ./out

  # Build the dev variant and push it
  berth build app --variant dev --push 127.0.0.1:5000/team/app:dev

  # Load into Docker
  berth build app --docker-archive app.tar && docker load -i app.tar

  # Override a variable
  berth build app --set VERSION=1.2.4 --push registry.example.com/team/app:1.2.4

  # Import a Dockerfile (RUN is refused with the declarative equivalent)
  berth build --dockerfile ./Dockerfile --set VERSION=2 --oci-layout ./out`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if out.count() > 1 {
				return errors.New("give at most one of --push, --oci-layout, --docker-archive")
			}
			file, err := sf.load()
			if err != nil {
				return err
			}
			names := args
			if len(names) == 0 {
				names = file.ImageOrder
			}
			var progress io.Writer = cmd.ErrOrStderr()
			if quiet || asJSON {
				progress = nil
			}
			b, err := newBuilder(file, progress)
			if err != nil {
				return err
			}
			// Once a lock exists, builds never resolve again, so the first
			// lock must pin every image and variant (as `berth lock` does),
			// not only the ones this build names: otherwise building the
			// dev variant after the prod image fails with "run berth lock",
			// and the lock's content would depend on what was built first.
			if b.Lock == nil {
				if err := b.LockAll(cmd.Context(), nil); err != nil {
					return err
				}
			}
			return runBuild(cmd.Context(), cmd.OutOrStdout(), b, names, variant, out, buildPrint{json: asJSON, quiet: quiet})
		},
	}
	sf.add(cmd)
	cmd.Flags().StringVar(&sf.dockerfile, "dockerfile", "", "import this Dockerfile (FROM, COPY, ADD, ENV, ARG, ... but no RUN) instead of berth.yaml; its image is named \"image\"")
	cmd.Flags().StringVar(&variant, "variant", "", "build this variant (e.g. dev) instead of the plain (prod) image")
	cmd.Flags().StringVar(&out.push, "push", "", "push to this registry reference (with several images: a prefix ending in '/')")
	cmd.Flags().StringVar(&out.ociLayout, "oci-layout", "", "write into this OCI layout directory (tagged with the image name)")
	cmd.Flags().StringVar(&out.dockerArchive, "docker-archive", "", "write a docker-archive tar into `FILE` (for docker load -i FILE)")
	cmd.Flags().StringVar(&out.tag, "tag", "latest", "tag used with --docker-archive and with a --push prefix")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the result as JSON")
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "print only the digests, one line per image")
	return cmd
}

type buildJSON struct {
	*build.Result
	Destination string `json:"destination,omitempty"`
}

// buildPrint is what build prints on stdout: a line per image (name, digest,
// destination) and the lock file it wrote; with quiet only the digests, one
// per image; with json one document.
type buildPrint struct{ json, quiet bool }

func runBuild(ctx context.Context, stdout io.Writer, b *build.Builder, names []string, variant string, out buildOutput, p buildPrint) error {
	var results []buildJSON
	pushLog := build.OpenPushLog(b.CacheDir)
	wopts := b.RefOptions
	wopts.MountFrom = pushLog.MountFrom
	// Every image is built before any is written: a refused or failing
	// image leaves the output (and the lock) as they were.
	built := make([]*build.Result, len(names))
	for i, name := range names {
		r, err := b.Build(ctx, name, variant)
		if err != nil {
			return err
		}
		if _, err := out.destination(name, len(names) > 1); err != nil {
			return err
		}
		built[i] = r
	}
	for i, name := range names {
		r := built[i]
		dest, err := out.destination(name, len(names) > 1)
		if err != nil {
			return err
		}
		if dest != "" {
			if err := imageref.Write(ctx, r.Image, dest, wopts); err != nil {
				return fmt.Errorf("image %s: writing %s: %w", name, dest, err)
			}
			if out.push != "" {
				if ref, err := gcrname.ParseReference(dest); err == nil {
					// Only a hint for later pushes: failing to save it is not an error.
					_ = pushLog.Record(ref.Context().RegistryStr(), ref.Context().RepositoryStr(), r.Image)
				}
			}
		}
		results = append(results, buildJSON{Result: r, Destination: dest})
		switch {
		case p.json:
		case p.quiet:
			fmt.Fprintln(stdout, r.Digest)
		default:
			label := name
			if variant != "" {
				label += " (" + variant + ")"
			}
			if dest != "" {
				fmt.Fprintf(stdout, "%s %s -> %s\n", label, r.Digest, dest)
			} else {
				fmt.Fprintf(stdout, "%s %s\n", label, r.Digest)
			}
		}
	}
	// The lock is written only after everything built: a failed build
	// leaves the old lock (or none) in place.
	if b.LockChanged() {
		if err := b.Lock.Write(b.LockPath); err != nil {
			return err
		}
		if !p.json && !p.quiet {
			fmt.Fprintf(stdout, "wrote %s\n", b.LockPath)
		}
	}
	if p.json {
		return writeIndentedJSON(stdout, results)
	}
	return nil
}

func newLockCommand() *cobra.Command {
	var sf specFlags
	cmd := &cobra.Command{
		Use:   "lock [IMAGE...]",
		Short: "Resolve every Debian package again and write berth.lock",
		Long: `lock resolves the debs layers of berth.yaml against the repositories' current
indexes and writes berth.lock next to it, pinning every package's version
and SHA256. A build with a lock file downloads exactly those files and never
resolves again; run lock to take in updates.`,
		Example: `  berth lock
  berth lock -f examples/goapp/berth.yaml`,
		RunE: func(cmd *cobra.Command, args []string) error {
			file, err := sf.load()
			if err != nil {
				return err
			}
			b, err := newBuilder(file, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			if err := b.LockAll(cmd.Context(), args); err != nil {
				return err
			}
			if err := b.Lock.Write(b.LockPath); err != nil {
				return err
			}
			n := 0
			for _, l := range b.Lock.Layers {
				n += len(l.Packages)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %s: %d layers, %d packages\n", b.LockPath, len(b.Lock.Layers), n)
			return nil
		},
	}
	sf.add(cmd)
	return cmd
}
