package build

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"strings"

	"github.com/berth-dev/berth/internal/build/source"
	"github.com/berth-dev/berth/internal/spec"
)

// sourceFor maps one berth.yaml layer onto its source.
func (b *Builder) sourceFor(img *spec.Image, variant string, l spec.Layer, plat platform, installed map[string]bool) (source.Source, error) {
	ctxDir := b.File.Context
	statCache := filepath.Join(b.CacheDir, "statcache")
	switch l.Kind() {
	case "debs":
		return b.newDebsSource(img.Name, variant, l, plat, maps.Clone(installed))
	case "files":
		ignore, err := readIgnore(ctxDir)
		if err != nil {
			return nil, err
		}
		items := make([]source.FileItem, len(l.Files))
		for i, f := range l.Files {
			items[i] = source.FileItem{Src: f.Src, Dest: f.Dest, Mode: f.Mode, Template: f.Template}
			if f.Owner != "" {
				uid, gid, err := spec.ParseOwner(f.Owner)
				if err != nil {
					return nil, fmt.Errorf("%s: files[%d].owner: %w", l.Pos, i, err)
				}
				items[i].UID, items[i].GID = &uid, &gid
			}
		}
		return source.NewFiles(source.FilesOptions{Context: ctxDir, Items: items, Vars: b.File.Vars, Ignore: ignore, StatCache: statCache})
	case "go":
		dir := ctxDir
		if l.Go.Dir != "" && l.Go.Dir != "." {
			dir = filepath.Join(ctxDir, l.Go.Dir)
		}
		return source.NewGo(source.GoOptions{Context: ctxDir, Dir: dir, Package: l.Go.Package, Output: l.Go.Output, Ldflags: l.Go.Ldflags,
			Tags: l.Go.Tags, GOOS: plat.OS, GOARCH: plat.Architecture, StatCache: statCache})
	case "accounts":
		var o source.UsersOptions
		for _, u := range l.Users {
			o.Users = append(o.Users, source.User{Name: u.Name, UID: u.UID, GID: u.GID, Home: u.Home, Shell: u.Shell, Gecos: u.Gecos})
		}
		for _, g := range l.Groups {
			o.Groups = append(o.Groups, source.Group{Name: g.Name, GID: g.GID, Members: g.Members})
		}
		return source.NewUsers(o)
	case "paths":
		items := make([]source.PathItem, len(l.Paths))
		for i, p := range l.Paths {
			items[i] = source.PathItem{Path: p.Path, Type: p.Type, Target: p.Target, Content: p.Content, Mode: p.Mode}
			if p.Owner != "" {
				uid, gid, err := spec.ParseOwner(p.Owner)
				if err != nil {
					return nil, fmt.Errorf("%s: paths[%d].owner: %w", l.Pos, i, err)
				}
				items[i].UID, items[i].GID = &uid, &gid
			}
		}
		return source.NewPaths(items)
	case "tar":
		return source.NewTar(source.TarOptions{Context: ctxDir, Src: l.Tar.Src, StatCache: statCache})
	}
	return nil, fmt.Errorf("%s: layer %q has no source", l.Pos, l.Name)
}

// readIgnore reads .berthignore, or else .dockerignore, from the context.
// The file must be a regular file of the context: a symlink to a host file
// would have its lines echoed in pattern errors.
func readIgnore(dir string) ([]string, error) {
	for _, name := range []string{".berthignore", ".dockerignore"} {
		p := filepath.Join(dir, name)
		if _, err := os.Lstat(p); errors.Is(err, fs.ErrNotExist) {
			continue
		}
		f, err := source.OpenInContext(dir, name)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		var lines []string
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			line := strings.TrimSpace(sc.Text())
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			lines = append(lines, line)
		}
		return lines, sc.Err()
	}
	return nil, nil
}
