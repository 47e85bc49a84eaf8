package source

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
)

// goListFields are the fields of `go list -json` that name what a build
// reads from a package: its directory and every file compiled, assembled,
// linked or embedded.
const goListFields = "ImportPath,Dir,Standard,Module,GoFiles,CgoFiles,CFiles,CXXFiles,MFiles,HFiles,FFiles,SFiles,SwigFiles,SwigCXXFiles,SysoFiles,EmbedFiles"

type goListPackage struct {
	ImportPath string
	Dir        string
	Standard   bool
	Module     *struct {
		Path, Version, Dir, GoMod string
		Main                      bool
		Replace                   *struct{ Path, Version, Dir, GoMod string }
	}
	GoFiles, CgoFiles, CFiles, CXXFiles, MFiles, HFiles, FFiles, SFiles []string
	SwigFiles, SwigCXXFiles, SysoFiles, EmbedFiles                      []string
}

// fromModuleCache reports whether the package is a dependency the go command
// reads from the module cache (immutable, verified against go.sum), rather
// than source on this machine: the main module and directory replacements
// are local, and so is a package outside any module.
func (p *goListPackage) fromModuleCache() bool {
	m := p.Module
	if m == nil || m.Main {
		return false
	}
	if m.Replace != nil {
		return m.Replace.Version != ""
	}
	return m.Version != ""
}

// checkInputs asks the go command which packages and files the build will
// read and refuses any local one that resolves outside the context: a
// symlink in the module pointing elsewhere, a go.mod found above the
// context, a replace or go.work directive naming a directory outside it.
// Only the standard library and module-cache dependencies may lie outside.
func (g *Go) checkInputs(ctx context.Context) error {
	c, err := openContext(g.o.Context)
	if err != nil {
		return fmt.Errorf("go: %w", err)
	}
	var out bytes.Buffer
	args := []string{"list", "-deps", "-json=" + goListFields}
	if len(g.o.Tags) > 0 {
		args = append(args, "-tags", strings.Join(g.o.Tags, ","))
	}
	args = append(args, g.o.Package)
	if err := g.goCmd(ctx, &out, args...); err != nil {
		return err
	}
	dec := json.NewDecoder(&out)
	for {
		var p goListPackage
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return fmt.Errorf("go list %s: %w", g.o.Package, err)
		}
		// A vendored dependency sits in the module (and could be a
		// symlink): only one really in the module cache is skipped.
		if p.Standard || (p.fromModuleCache() && !c.contains(filepath.Clean(p.Dir)) && !strings.HasPrefix(p.Dir, g.o.Dir) && !strings.HasPrefix(p.Dir, g.o.Context)) {
			continue
		}
		check := func(what, path string) error {
			real, err := filepath.EvalSymlinks(path)
			if err != nil {
				return fmt.Errorf("go: package %s: %s %s: %w", p.ImportPath, what, path, err)
			}
			if !c.contains(real) {
				return fmt.Errorf("go: package %s: %s %s resolves to %s, outside the build context %s", p.ImportPath, what, path, real, c.real)
			}
			return nil
		}
		if err := check("directory", p.Dir); err != nil {
			return err
		}
		if m := p.Module; m != nil && m.GoMod != "" {
			gomod := m.GoMod
			if m.Replace != nil && m.Replace.GoMod != "" {
				gomod = m.Replace.GoMod
			}
			if err := check("go.mod", gomod); err != nil {
				return err
			}
		}
		for _, list := range [][]string{p.GoFiles, p.CgoFiles, p.CFiles, p.CXXFiles, p.MFiles, p.HFiles, p.FFiles,
			p.SFiles, p.SwigFiles, p.SwigCXXFiles, p.SysoFiles, p.EmbedFiles} {
			for _, f := range list {
				if err := check("file", filepath.Join(p.Dir, f)); err != nil {
					return err
				}
			}
		}
	}
	return nil
}
