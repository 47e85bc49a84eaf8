package source

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"text/template"

	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"

	"github.com/berth-dev/berth/internal/build/layer"
)

// FilesOptions configures a files layer.
type FilesOptions struct {
	Context string     // directory srcs are relative to
	Items   []FileItem // applied in order; a later item overwrites an earlier one
	// Vars are the template variables ({{ .VERSION }}).
	Vars map[string]string
	// Ignore holds .dockerignore-style lines (moby/patternmatcher
	// semantics, '!' exceptions, '#' comments), matched against paths
	// relative to Context.
	Ignore []string
	// StatCache is a directory for the content-hash cache that makes Key
	// cheap on unchanged files; "" disables it.
	StatCache string
}

// FileItem copies one file or directory of the context into the image.
type FileItem struct {
	Src string // relative to Context; a directory copies its contents
	// Dest is an image path; ending in '/' means "into this directory".
	Dest string
	// Mode overrides the mode of copied files (not directories, which stay
	// 0755 so they remain traversable).
	Mode     *int64
	UID, GID *int // owner override for everything the item creates; default 0
	Template bool // render files with text/template and Vars
}

// Files is the source of a files layer.
type Files struct {
	o      FilesOptions
	ctx    contextDir
	ignore *patternmatcher.PatternMatcher
	stat   *statCache
}

// NewFiles validates o.
func NewFiles(o FilesOptions) (*Files, error) {
	c, err := openContext(o.Context)
	if err != nil {
		return nil, err
	}
	patterns, err := ignorefile.ReadAll(strings.NewReader(strings.Join(o.Ignore, "\n")))
	if err != nil {
		return nil, fmt.Errorf("ignore patterns: %w", err)
	}
	pm, err := patternmatcher.New(patterns)
	if err != nil {
		return nil, fmt.Errorf("ignore patterns: %w", err)
	}
	for i, it := range o.Items {
		if it.Mode != nil && (*it.Mode < 0 || *it.Mode > 0o7777) {
			return nil, fmt.Errorf("files[%d] (%s): mode %#o outside 0..07777", i, it.Src, *it.Mode)
		}
		if (it.UID != nil && *it.UID < 0) || (it.GID != nil && *it.GID < 0) {
			return nil, fmt.Errorf("files[%d] (%s): negative owner", i, it.Src)
		}
		if it.Dest == "" {
			return nil, fmt.Errorf("files[%d] (%s): dest is empty", i, it.Src)
		}
	}
	id, _ := json.Marshal(o.Items)
	return &Files{o: o, ctx: c, ignore: pm, stat: openStatCache(o.StatCache, "files\x00"+c.real+"\x00"+string(id))}, nil
}

// plannedFile is one entry of the layer, before content is read.
type plannedFile struct {
	dest     string // image path
	typ      byte
	mode     int64
	uid, gid int
	link     string
	src      string // real path of a regular file
	info     fs.FileInfo
	template bool
}

// plan walks the items and lists the entries they produce, in item order.
func (f *Files) plan() ([]plannedFile, error) {
	var out []plannedFile
	for i, it := range f.o.Items {
		where := fmt.Sprintf("files[%d] (src %q)", i, it.Src)
		real, rel, err := f.ctx.resolve(it.Src)
		if err != nil {
			return nil, fmt.Errorf("files[%d]: %w", i, err)
		}
		if rel != "." {
			if ignored, err := f.ignore.MatchesOrParentMatches(rel); err != nil {
				return nil, fmt.Errorf("%s: ignore patterns: %w", where, err)
			} else if ignored {
				return nil, fmt.Errorf("%s: excluded by the ignore file", where)
			}
		}
		uid, gid := 0, 0
		if it.UID != nil {
			uid = *it.UID
		}
		if it.GID != nil {
			gid = *it.GID
		}
		intoDir := strings.HasSuffix(it.Dest, "/")
		dest := "" // the image root
		if strings.Trim(it.Dest, "/") != "" {
			if dest, err = layer.CleanPath(it.Dest); err != nil {
				return nil, fmt.Errorf("%s: dest: %w", where, err)
			}
		}
		fi, err := os.Stat(real)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", where, err)
		}
		fileMode := func(fi fs.FileInfo) int64 {
			if it.Mode != nil {
				return *it.Mode
			}
			return normalMode(fi)
		}
		if !fi.IsDir() {
			if !fi.Mode().IsRegular() {
				return nil, fmt.Errorf("%s: not a regular file or directory", where)
			}
			if intoDir || dest == "" {
				dest = joinImage(dest, path.Base(rel))
			}
			out = append(out, plannedFile{dest: dest, typ: tar.TypeReg, mode: fileMode(fi), uid: uid, gid: gid, src: real, info: fi, template: it.Template})
			continue
		}
		if dest != "" {
			out = append(out, plannedFile{dest: dest, typ: tar.TypeDir, mode: 0o755, uid: uid, gid: gid})
		}
		err = filepath.WalkDir(real, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if p == real {
				return nil
			}
			sub := filepath.ToSlash(p[len(real)+1:])
			ctxRel := path.Join(rel, sub)
			ignored, err := f.ignore.MatchesOrParentMatches(ctxRel)
			if err != nil {
				return err
			}
			if ignored {
				// A directory may still hold '!' exceptions; only skip
				// the subtree when there are none.
				if d.IsDir() && !f.ignore.Exclusions() {
					return filepath.SkipDir
				}
				return nil
			}
			target := joinImage(dest, sub)
			fi, err := d.Info()
			if err != nil {
				return err
			}
			switch {
			case d.IsDir():
				out = append(out, plannedFile{dest: target, typ: tar.TypeDir, mode: 0o755, uid: uid, gid: gid})
			case fi.Mode().IsRegular():
				out = append(out, plannedFile{dest: target, typ: tar.TypeReg, mode: fileMode(fi), uid: uid, gid: gid, src: p, info: fi, template: it.Template})
			case fi.Mode()&fs.ModeSymlink != 0:
				// Copied as a link, never followed, so it cannot pull
				// in anything from outside the context.
				link, err := os.Readlink(p)
				if err != nil {
					return err
				}
				out = append(out, plannedFile{dest: target, typ: tar.TypeSymlink, mode: 0o777, uid: uid, gid: gid, link: link})
			default:
				return fmt.Errorf("%s: unsupported file type %s (exclude it with the ignore file)", ctxRel, fi.Mode().Type())
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("%s: %w", where, err)
		}
	}
	return out, nil
}

// Key hashes the options and, per entry, its path, type, mode, owner and
// content hash (file contents come from the stat cache when unchanged).
func (f *Files) Key(ctx context.Context) (string, error) {
	planned, err := f.plan()
	if err != nil {
		return "", err
	}
	opts := struct {
		Items []FileItem
		Vars  map[string]string `json:",omitempty"`
	}{Items: f.o.Items}
	for _, it := range f.o.Items {
		if it.Template { // vars only matter to templates
			opts.Vars = f.o.Vars
			break
		}
	}
	// Context and ignore patterns are deliberately absent: they only matter
	// through the entries they select, which are hashed below.
	k := newKey("files", opts)
	for _, p := range planned {
		if err := ctx.Err(); err != nil {
			return "", err
		}
		e := keyEntry{Path: p.dest, Type: string(p.typ), Mode: p.mode, UID: p.uid, GID: p.gid, Linkname: p.link}
		if p.typ == tar.TypeReg {
			if e.SHA256, err = f.stat.hash(p.src, p.info); err != nil {
				return "", err
			}
		}
		k.add(e)
	}
	_ = f.stat.save()
	return k.sum()
}

// Tree builds the layer's entries.
func (f *Files) Tree(ctx context.Context) (*layer.Tree, error) {
	planned, err := f.plan()
	if err != nil {
		return nil, err
	}
	t := layer.NewTree()
	for _, p := range planned {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		e := layer.Entry{Path: p.dest, Type: p.typ, Mode: p.mode, UID: p.uid, GID: p.gid, Linkname: p.link}
		if p.typ == tar.TypeReg {
			if p.template {
				data, err := f.render(p.src)
				if err != nil {
					return nil, err
				}
				e.Size = int64(len(data))
				e.Open = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }
			} else {
				src := p.src
				e.Size = p.info.Size()
				e.Open = func() (io.ReadCloser, error) { return os.Open(src) }
			}
		}
		if err := t.Add(e); err != nil {
			return nil, err
		}
	}
	return t, nil
}

func (f *Files) render(src string) ([]byte, error) {
	name, _ := filepath.Rel(f.ctx.real, src)
	text, err := os.ReadFile(src)
	if err != nil {
		return nil, err
	}
	// Errors read "template: <file>:<line>:<col>: ...".
	tmpl, err := template.New(filepath.ToSlash(name)).Option("missingkey=error").Parse(string(text))
	if err != nil {
		return nil, err
	}
	vars := f.o.Vars
	if vars == nil {
		vars = map[string]string{}
	}
	var buf bytes.Buffer
	if err := tmpl.Execute(&buf, vars); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// normalMode reduces a file's mode to 0755 or 0644 so umask and checkout
// differences between machines do not change digests.
func normalMode(fi fs.FileInfo) int64 {
	if fi.Mode().Perm()&0o111 != 0 {
		return 0o755
	}
	return 0o644
}

func joinImage(dir, name string) string {
	if dir == "" {
		return name
	}
	return dir + "/" + name
}
