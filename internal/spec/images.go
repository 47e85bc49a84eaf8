package spec

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"go.yaml.in/yaml/v4"

	"github.com/berth-dev/berth/internal/build/goflags"
)

var (
	imageFields   = []string{"from", "platform", "layers", "config", "variants"}
	variantFields = []string{"layers", "config"}
	layerFields   = []string{"name", "debs", "files", "go", "users", "groups", "paths", "tar"}
	debsFields    = []string{"packages", "repositories"}
	fileFields    = []string{"src", "dest", "mode", "owner", "template"}
	goFields      = []string{"package", "dir", "output", "ldflags", "tags"}
	userFields    = []string{"name", "uid", "gid", "home", "shell", "gecos"}
	groupFields   = []string{"name", "gid", "members"}
	pathFields    = []string{"path", "type", "target", "content", "mode", "owner"}
	tarFields     = []string{"src"}
)

// Prefixes of From values that name a base image on disk.
const (
	ociLayoutPrefix     = "oci-layout:"
	dockerArchivePrefix = "docker-archive:"
)

// NoVariant is the name that selects an image without a variant (as does "").
const NoVariant = "prod"

// imageNodes remembers where from:/platform: were written, for the checks
// that need every image first (references, cycles, platform inheritance).
type imageNodes struct {
	from, platform *yaml.Node
}

func (l *loader) images(n *yaml.Node) {
	d := l.d
	nodes := map[string]imageNodes{}
	for _, p := range d.pairs(n, "images") {
		path := join("images", p.key)
		if err := checkName("image", p.key); err != nil {
			d.errf(p.kNode, path, "%v", err)
			continue
		}
		img, in := l.image(p.key, p.kNode, p.value, path)
		if img == nil {
			continue
		}
		l.f.Images[p.key] = img
		l.f.ImageOrder = append(l.f.ImageOrder, p.key)
		nodes[p.key] = in
	}
	l.resolveFroms(nodes)
}

func (l *loader) image(imgName string, kNode, n *yaml.Node, path string) (*Image, imageNodes) {
	d := l.d
	var in imageNodes
	fs, ok := d.fields(n, path, imageFields...)
	if !ok {
		return nil, in
	}
	img := &Image{Name: imgName, From: "scratch", FromKind: FromScratch, Pos: d.pos(kNode)}
	if f := fs["from"]; f != nil {
		in.from = f
		if s, ok := d.str(f, join(path, "from")); ok {
			img.From = s
		}
	}
	if p := fs["platform"]; p != nil {
		in.platform = p
		if s, ok := d.str(p, join(path, "platform")); ok {
			if err := checkPlatform(s); err != nil {
				d.errf(p, join(path, "platform"), "%v", err)
			}
			img.Platform = s
		}
	}
	names := map[string]bool{}
	img.Layers = l.layers(fs["layers"], join(path, "layers"), names)
	if c := fs["config"]; c != nil {
		img.Config = l.config(c, join(path, "config"))
	}
	if v := fs["variants"]; v != nil {
		img.Variants = map[string]*Variant{}
		for _, p := range d.pairs(v, join(path, "variants")) {
			vpath := join(join(path, "variants"), p.key)
			if p.key == NoVariant {
				d.errf(p.kNode, vpath, "%q is reserved: it selects the image without a variant", NoVariant)
				continue
			}
			if err := checkName("variant", p.key); err != nil {
				d.errf(p.kNode, vpath, "%v", err)
				continue
			}
			vfs, ok := d.fields(p.value, vpath, variantFields...)
			if !ok {
				continue
			}
			// A variant's layers sit on top of the image's, so their
			// names must not collide with the image's either.
			taken := map[string]bool{}
			for k := range names {
				taken[k] = true
			}
			va := &Variant{Pos: d.pos(p.kNode)}
			va.Layers = l.layers(vfs["layers"], join(vpath, "layers"), taken)
			if c := vfs["config"]; c != nil {
				va.Config = l.config(c, join(vpath, "config"))
			}
			img.Variants[p.key] = va
		}
	}
	return img, in
}

// resolveFroms classifies every from:, then checks references between images
// for cycles and gives images built on another one its platform.
func (l *loader) resolveFroms(nodes map[string]imageNodes) {
	d := l.d
	for _, nm := range l.f.ImageOrder {
		img := l.f.Images[nm]
		fn := nodes[nm].from
		fpath := join(join("images", nm), "from")
		switch s := img.From; {
		case s == "scratch":
			img.FromKind = FromScratch
		case l.f.Images[s] != nil:
			img.FromKind = FromImage
			if s == nm {
				d.errf(fn, fpath, "image %q cannot be built from itself", nm)
			}
		case strings.HasPrefix(s, ociLayoutPrefix), strings.HasPrefix(s, dockerArchivePrefix):
			prefix, kind := ociLayoutPrefix, FromOCILayout
			if strings.HasPrefix(s, dockerArchivePrefix) {
				prefix, kind = dockerArchivePrefix, FromDockerArchive
			}
			p := strings.TrimPrefix(s, prefix)
			if p == "" {
				d.errf(fn, fpath, "%q needs a path after %q", s, prefix)
				continue
			}
			if !filepath.IsAbs(p) {
				p = filepath.Join(l.f.Dir, p)
			}
			p = filepath.Clean(p)
			if !l.fromPathInside(fn, fpath, s, p) {
				continue
			}
			img.From, img.FromKind = prefix+p, kind
		default:
			img.FromKind = FromRegistry
			if _, err := name.ParseReference(s); err != nil {
				msg := fmt.Sprintf("%q is not scratch, an image of this file (%s), oci-layout:DIR, docker-archive:FILE or a valid image reference: %v", s, strings.Join(l.f.ImageOrder, ", "), err)
				d.errf(fn, fpath, "%s", msg)
			}
		}
	}
	// Cycles: walk each chain of local froms; a chain that comes back to
	// one of its own images is reported once, at the first image of the
	// file that is part of it.
	reported := map[string]bool{}
	for _, nm := range l.f.ImageOrder {
		chain := []string{nm}
		onChain := map[string]int{nm: 0}
		cur := l.f.Images[nm]
		for cur.FromKind == FromImage && cur.From != cur.Name {
			next := cur.From
			if i, ok := onChain[next]; ok {
				cycle := append(chain[i:], next)
				if !reported[next] && i == 0 {
					for _, c := range cycle {
						reported[c] = true
					}
					d.errf(nodes[nm].from, join(join("images", nm), "from"), "images are built from each other in a cycle: %s", strings.Join(cycle, " → "))
				}
				break
			}
			onChain[next] = len(chain)
			chain = append(chain, next)
			cur = l.f.Images[next]
		}
	}
	// Platforms: an image on a local image inherits its platform (an
	// explicit different one is a contradiction, not an override).
	var platformOf func(nm string, depth int) string
	platformOf = func(nm string, depth int) string {
		img := l.f.Images[nm]
		if img.Platform != "" || img.FromKind != FromImage || depth > len(l.f.Images) {
			return img.Platform
		}
		return platformOf(img.From, depth+1)
	}
	for _, nm := range l.f.ImageOrder {
		img := l.f.Images[nm]
		if img.FromKind != FromImage || reported[nm] || img.From == nm {
			continue
		}
		parent := platformOf(img.From, 0)
		switch {
		case img.Platform == "":
			img.Platform = parent
		case parent != "" && parent != img.Platform:
			d.errf(nodes[nm].platform, join(join("images", nm), "platform"), "%s differs from %s, the platform of image %q it is built from", img.Platform, parent, img.From)
		}
	}
}

// fromPathInside checks that an oci-layout:DIR[:TAG|@DIGEST] or
// docker-archive:FILE[:REPO:TAG] base stays inside the root. Where the path
// ends is only decided when the image is loaded (by what exists), so every
// prefix ending before a ':' or '@' is checked, and the whole.
func (l *loader) fromPathInside(n *yaml.Node, field, written, p string) bool {
	cands := []string{p}
	for i := 1; i < len(p); i++ {
		if p[i] == ':' || p[i] == '@' {
			cands = append(cands, p[:i])
		}
	}
	for _, c := range cands {
		real, ok, err := insideRoot(l.f.Root, filepath.Clean(c))
		if err != nil {
			l.d.errf(n, field, "%q: %v", written, err)
			return false
		}
		if !ok {
			l.d.errf(n, field, "%q: %s resolves to %s, outside %s; %s", written, c, real, l.rootName(), widenHint)
			return false
		}
	}
	return true
}

// layers decodes a layers: list. names holds the layer names already used in
// the same image (and variant) and is updated.
func (l *loader) layers(n *yaml.Node, path string, names map[string]bool) []Layer {
	d := l.d
	var out []Layer
	for i, item := range d.seq(n, path) {
		lpath := index(path, i)
		fs, ok := d.fields(item, lpath, layerFields...)
		if !ok {
			continue
		}
		lay := Layer{Pos: d.pos(d.resolve(item, lpath))}
		if nn := fs["name"]; nn == nil {
			d.errf(item, lpath, "missing field \"name\" (every layer is named after its concern, e.g. name: os)")
		} else if s, ok := d.str(nn, join(lpath, "name")); ok {
			if err := checkName("layer", s); err != nil {
				d.errf(nn, join(lpath, "name"), "%v", err)
			} else if names[s] {
				d.errf(nn, join(lpath, "name"), "layer name %q is used twice in this image", s)
			}
			names[s] = true
			lay.Name = s
		}
		var sources []string
		for _, k := range []string{"debs", "files", "go", "users", "paths", "tar"} {
			if fs[k] != nil || (k == "users" && fs["groups"] != nil) {
				if k == "users" {
					k = "users/groups"
				}
				sources = append(sources, k)
			}
		}
		switch {
		case len(sources) == 0:
			d.errf(item, lpath, "layer has no source: give it one of debs, files, go, users/groups, paths or tar")
			continue
		case len(sources) > 1:
			d.errf(item, lpath, "layer has %d sources (%s): a layer holds one concern, so split it into one layer per source", len(sources), strings.Join(sources, ", "))
			continue
		}
		switch {
		case fs["debs"] != nil:
			lay.Debs = l.debs(fs["debs"], join(lpath, "debs"))
		case fs["files"] != nil:
			lay.Files = l.files(fs["files"], join(lpath, "files"))
		case fs["go"] != nil:
			lay.Go = l.goBuild(fs["go"], join(lpath, "go"))
		case fs["paths"] != nil:
			lay.Paths = l.paths(fs["paths"], join(lpath, "paths"))
		case fs["tar"] != nil:
			lay.Tar = l.tar(fs["tar"], join(lpath, "tar"))
		default:
			lay.Users = l.users(fs["users"], join(lpath, "users"))
			lay.Groups = l.groups(fs["groups"], join(lpath, "groups"))
			if lay.Users == nil {
				lay.Users = []User{}
			}
			if lay.Groups == nil {
				lay.Groups = []Group{}
			}
			l.checkAccounts(item, lpath, lay.Users, lay.Groups)
		}
		out = append(out, lay)
	}
	return out
}

func (l *loader) debs(n *yaml.Node, path string) *Debs {
	d := l.d
	fs, ok := d.fields(n, path, debsFields...)
	if !ok {
		return &Debs{}
	}
	deb := &Debs{}
	if p := fs["packages"]; p == nil {
		d.errf(n, path, "missing field \"packages\"")
	} else if list, ok := d.strList(p, join(path, "packages")); ok {
		if len(list) == 0 {
			d.errf(p, join(path, "packages"), "lists no packages")
		}
		seen := map[string]bool{}
		for i, pkg := range list {
			if err := checkPackage(pkg); err != nil {
				d.errf(itemNode(p, i), index(join(path, "packages"), i), "%v", err)
			} else if seen[pkg] {
				d.errf(itemNode(p, i), index(join(path, "packages"), i), "package %q is listed twice", pkg)
			}
			seen[pkg] = true
		}
		deb.Packages = list
	}
	if len(l.f.Repositories) == 0 {
		d.errf(n, path, "a debs layer needs Debian repositories: define them under the top-level repositories:")
	}
	if r := fs["repositories"]; r != nil {
		if list, ok := d.strList(r, join(path, "repositories")); ok {
			known := l.repoNames()
			for i, name := range list {
				if !slices.Contains(known, name) {
					msg := fmt.Sprintf("unknown repository %q (defined: %s)", name, quoteList(known))
					if s := suggest(name, known); s != "" {
						msg = fmt.Sprintf("unknown repository %q (did you mean %q?)", name, s)
					}
					d.errf(itemNode(r, i), index(join(path, "repositories"), i), "%s", msg)
				}
			}
			deb.Repositories = list
		}
	}
	return deb
}

// mode decodes a permission mode: an octal string or a YAML number.
func (l *loader) mode(n *yaml.Node, path string) *int64 {
	d := l.d
	r := d.resolve(n, path)
	if r == nil {
		return nil
	}
	var v int64
	var err error
	if r.Kind == yaml.ScalarNode && r.ShortTag() == "!!int" {
		v, err = modeFromYAMLInt(r.Value)
	} else {
		s, ok := d.str(r, path)
		if !ok {
			return nil
		}
		v, err = ParseMode(s)
	}
	if err != nil {
		d.errf(r, path, "%v", err)
		return nil
	}
	return &v
}

func (l *loader) owner(n *yaml.Node, path string) string {
	s, ok := l.d.str(n, path)
	if !ok {
		return ""
	}
	if _, _, err := ParseOwner(s); err != nil {
		l.d.errf(n, path, "%v", err)
	}
	return s
}

func (l *loader) source(n *yaml.Node, path string) string {
	s, ok := l.d.str(n, path)
	if !ok {
		return ""
	}
	c, err := cleanSource(s)
	if err != nil {
		l.d.errf(n, path, "%v", err)
		return s
	}
	return c
}

func (l *loader) imagePath(n *yaml.Node, path string) string {
	s, ok := l.d.str(n, path)
	if !ok {
		return ""
	}
	if err := checkImagePath(s); err != nil {
		l.d.errf(n, path, "%v", err)
	}
	return s
}

func (l *loader) files(n *yaml.Node, path string) []FileItem {
	d := l.d
	items := d.seq(n, path)
	if len(items) == 0 {
		d.errf(n, path, "lists no files")
	}
	out := []FileItem{}
	for i, item := range items {
		ipath := index(path, i)
		fs, ok := d.fields(item, ipath, fileFields...)
		if !ok {
			continue
		}
		var fi FileItem
		if fs["src"] == nil {
			d.errf(item, ipath, "missing field \"src\"")
		} else {
			fi.Src = l.source(fs["src"], join(ipath, "src"))
		}
		if fs["dest"] == nil {
			d.errf(item, ipath, "missing field \"dest\"")
		} else {
			fi.Dest = l.imagePath(fs["dest"], join(ipath, "dest"))
		}
		if m := fs["mode"]; m != nil {
			fi.Mode = l.mode(m, join(ipath, "mode"))
		}
		if o := fs["owner"]; o != nil {
			fi.Owner = l.owner(o, join(ipath, "owner"))
		}
		if t := fs["template"]; t != nil {
			fi.Template, _ = d.boolean(t, join(ipath, "template"))
			if fi.Template && strings.HasSuffix(fi.Src, "/") {
				d.errf(t, join(ipath, "template"), "a template must be a single file, not the directory %q", fi.Src)
			}
		}
		out = append(out, fi)
	}
	return out
}

func (l *loader) goBuild(n *yaml.Node, path string) *GoBuild {
	d := l.d
	g := &GoBuild{Dir: "."}
	fs, ok := d.fields(n, path, goFields...)
	if !ok {
		return g
	}
	if p := fs["package"]; p == nil {
		d.errf(n, path, "missing field \"package\" (the main package, e.g. ./cmd/web)")
	} else if s, ok := d.str(p, join(path, "package")); ok {
		if err := goflags.CheckPackage(s); err != nil {
			d.errf(p, join(path, "package"), "%v", err)
		}
		g.Package = s
	}
	if p := fs["dir"]; p != nil {
		g.Dir = l.source(p, join(path, "dir"))
	}
	if p := fs["output"]; p == nil {
		d.errf(n, path, "missing field \"output\" (where the binary goes, e.g. /app/web)")
	} else {
		g.Output = l.imagePath(p, join(path, "output"))
		if strings.HasSuffix(g.Output, "/") {
			d.errf(p, join(path, "output"), "must name the binary, not a directory: %q", g.Output)
		}
	}
	if p := fs["ldflags"]; p != nil {
		var ok bool
		if g.Ldflags, ok = d.str(p, join(path, "ldflags")); ok {
			if err := goflags.ValidateLdflags(g.Ldflags); err != nil {
				d.errf(p, join(path, "ldflags"), "%v", err)
			}
		}
	}
	if p := fs["tags"]; p != nil {
		tags, _ := d.strList(p, join(path, "tags"))
		for i, t := range tags {
			if err := goflags.CheckTag(t); err != nil {
				d.errf(itemNode(p, i), index(join(path, "tags"), i), "%v", err)
			}
		}
		g.Tags = tags
	}
	return g
}

// passwdSafe refuses characters that would corrupt /etc/passwd or /etc/group.
func passwdSafe(s string) error {
	if strings.ContainsAny(s, ":\n\r\x00") {
		return fmt.Errorf("%q must not contain ':' or line breaks", s)
	}
	return nil
}

func (l *loader) users(n *yaml.Node, path string) []User {
	d := l.d
	var out []User
	for i, item := range d.seq(n, path) {
		ipath := index(path, i)
		fs, ok := d.fields(item, ipath, userFields...)
		if !ok {
			continue
		}
		var u User
		if p := fs["name"]; p == nil {
			d.errf(item, ipath, "missing field \"name\"")
		} else if s, ok := d.str(p, join(ipath, "name")); ok {
			if err := checkAccountName(s); err != nil {
				d.errf(p, join(ipath, "name"), "%v", err)
			}
			u.Name = s
		}
		if p := fs["uid"]; p == nil {
			d.errf(item, ipath, "missing field \"uid\" (ids are explicit so builds are reproducible)")
		} else if v, ok := d.integer(p, join(ipath, "uid"), 0, 1<<31-1); ok {
			u.UID = int(v)
		}
		u.GID = u.UID
		if p := fs["gid"]; p != nil {
			if v, ok := d.integer(p, join(ipath, "gid"), 0, 1<<31-1); ok {
				u.GID = int(v)
			}
		}
		u.Home = "/home/" + u.Name
		if u.UID == 0 {
			u.Home = "/root"
		}
		if p := fs["home"]; p != nil {
			u.Home = l.imagePath(p, join(ipath, "home"))
		}
		u.Shell = "/sbin/nologin"
		if p := fs["shell"]; p != nil {
			u.Shell = l.imagePath(p, join(ipath, "shell"))
		}
		if p := fs["gecos"]; p != nil {
			u.Gecos, _ = d.str(p, join(ipath, "gecos"))
		}
		for field, v := range map[string]string{"home": u.Home, "shell": u.Shell, "gecos": u.Gecos} {
			if err := passwdSafe(v); err != nil && fs[field] != nil {
				d.errf(fs[field], join(ipath, field), "%v", err)
			}
		}
		out = append(out, u)
	}
	return out
}

func (l *loader) groups(n *yaml.Node, path string) []Group {
	d := l.d
	var out []Group
	for i, item := range d.seq(n, path) {
		ipath := index(path, i)
		fs, ok := d.fields(item, ipath, groupFields...)
		if !ok {
			continue
		}
		var g Group
		if p := fs["name"]; p == nil {
			d.errf(item, ipath, "missing field \"name\"")
		} else if s, ok := d.str(p, join(ipath, "name")); ok {
			if err := checkAccountName(s); err != nil {
				d.errf(p, join(ipath, "name"), "%v", err)
			}
			g.Name = s
		}
		if p := fs["gid"]; p == nil {
			d.errf(item, ipath, "missing field \"gid\"")
		} else if v, ok := d.integer(p, join(ipath, "gid"), 0, 1<<31-1); ok {
			g.GID = int(v)
		}
		if p := fs["members"]; p != nil {
			g.Members, _ = d.strList(p, join(ipath, "members"))
			for j, m := range g.Members {
				if err := checkAccountName(m); err != nil {
					d.errf(itemNode(p, j), index(join(ipath, "members"), j), "%v", err)
				}
			}
		}
		out = append(out, g)
	}
	return out
}

// checkAccounts refuses duplicate names within one accounts layer: the
// generated passwd/group files would be ambiguous.
func (l *loader) checkAccounts(n *yaml.Node, path string, users []User, groups []Group) {
	seen := map[string]bool{}
	for _, u := range users {
		if u.Name != "" && seen[u.Name] {
			l.d.errf(n, join(path, "users"), "user %q is defined twice", u.Name)
		}
		seen[u.Name] = true
	}
	seen = map[string]bool{}
	for _, g := range groups {
		if g.Name != "" && seen[g.Name] {
			l.d.errf(n, join(path, "groups"), "group %q is defined twice", g.Name)
		}
		seen[g.Name] = true
	}
}

func (l *loader) paths(n *yaml.Node, path string) []PathItem {
	d := l.d
	items := d.seq(n, path)
	if len(items) == 0 {
		d.errf(n, path, "lists no paths")
	}
	out := []PathItem{}
	seen := map[string]bool{}
	for i, item := range items {
		ipath := index(path, i)
		fs, ok := d.fields(item, ipath, pathFields...)
		if !ok {
			continue
		}
		var p PathItem
		if v := fs["path"]; v == nil {
			d.errf(item, ipath, "missing field \"path\"")
		} else {
			p.Path = l.imagePath(v, join(ipath, "path"))
			if seen[p.Path] {
				d.errf(v, join(ipath, "path"), "%q is listed twice", p.Path)
			}
			seen[p.Path] = true
		}
		if v := fs["type"]; v == nil {
			d.errf(item, ipath, "missing field \"type\" (directory, symlink or file)")
		} else if s, ok := d.str(v, join(ipath, "type")); ok {
			switch s {
			case PathDirectory, PathSymlink, PathFile:
			default:
				msg := fmt.Sprintf("unknown type %q: expected directory, symlink or file", s)
				if sg := suggest(s, []string{PathDirectory, PathSymlink, PathFile}); sg != "" {
					msg += fmt.Sprintf(" (did you mean %q?)", sg)
				}
				d.errf(v, join(ipath, "type"), "%s", msg)
			}
			p.Type = s
		}
		if v := fs["target"]; v != nil {
			p.Target, _ = d.str(v, join(ipath, "target"))
			if p.Type != PathSymlink && p.Type != "" {
				d.errf(v, join(ipath, "target"), "only symlinks have a target")
			}
		} else if p.Type == PathSymlink {
			d.errf(item, ipath, "missing field \"target\" (what the symlink points to)")
		}
		if p.Type == PathSymlink && fs["target"] != nil && p.Target == "" {
			d.errf(fs["target"], join(ipath, "target"), "must not be empty")
		}
		if v := fs["content"]; v != nil {
			p.Content, _ = d.str(v, join(ipath, "content"))
			if p.Type != PathFile && p.Type != "" {
				d.errf(v, join(ipath, "content"), "only files have content")
			}
		}
		if v := fs["mode"]; v != nil {
			p.Mode = l.mode(v, join(ipath, "mode"))
			if p.Type == PathSymlink {
				d.errf(v, join(ipath, "mode"), "symlinks have no mode of their own")
			}
		}
		if v := fs["owner"]; v != nil {
			p.Owner = l.owner(v, join(ipath, "owner"))
		}
		out = append(out, p)
	}
	return out
}

func (l *loader) tar(n *yaml.Node, path string) *Tar {
	d := l.d
	t := &Tar{}
	r := d.resolve(n, path)
	if r != nil && r.Kind == yaml.ScalarNode && !isNull(r) {
		d.errf(r, path, "expected a mapping, got %s (write tar: {src: %s})", kindName(r), r.Value)
		return t
	}
	fs, ok := d.fields(n, path, tarFields...)
	if !ok {
		return t
	}
	if s := fs["src"]; s == nil {
		d.errf(n, path, "missing field \"src\" (a tarball or a directory)")
	} else {
		t.Src = l.source(s, join(path, "src"))
	}
	return t
}
