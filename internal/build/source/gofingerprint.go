package source

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// goKeyMemo is what Go.Key remembers between builds.
type goKeyMemo struct {
	Go        string `json:"go"`  // fingerprint of the files the go command compiles
	All       string `json:"all"` // fingerprint of every file of the module
	UsesEmbed bool   `json:"usesEmbed"`
	Key       string `json:"key"`
}

// matches reports whether the memo still describes the module: the Go
// sources must be unchanged, and when the module embeds files (//go:embed
// can name any file) every other file too. A static asset changing next to
// a module that embeds nothing does not cost a link.
func (m goKeyMemo) matches(fp goFingerprint) bool {
	if fp.Go == "" || m.Go != fp.Go {
		return false
	}
	return !m.UsesEmbed || m.All == fp.All
}

// goFingerprint is the result of one walk of the module.
type goFingerprint struct {
	Go, All string
	goFiles []string // .go files, for usesEmbed
}

// usesEmbed reports whether any .go file of the module has a //go:embed
// directive (read only when the memo is written, i.e. after a build).
func (fp goFingerprint) usesEmbed() bool {
	for _, p := range fp.goFiles {
		data, err := os.ReadFile(p)
		if err != nil || bytes.Contains(data, []byte("go:embed")) {
			return true
		}
	}
	return false
}

// goSourceExt are the files the go command reads besides go.mod and go.sum.
var goSourceExt = map[string]bool{".go": true, ".s": true, ".S": true, ".c": true, ".h": true, ".cc": true,
	".cpp": true, ".cxx": true, ".hh": true, ".hpp": true, ".hxx": true, ".m": true, ".f": true, ".F": true,
	".for": true, ".f90": true, ".syso": true, ".swig": true, ".swigcxx": true}

// goEnvVars can change what go list or go build do.
var goEnvVars = []string{"PATH", "GOROOT", "GOPATH", "GOMODCACHE", "GOFLAGS", "GOTOOLCHAIN", "GOEXPERIMENT",
	"GOAMD64", "GOARM", "GOARM64", "GO386", "GOPROXY", "GONOSUMDB", "GOPRIVATE", "GOWORK", "GOINSECURE", "CC"}

// fingerprint hashes, cheaply, what a go build reads: the options, the go
// command's binary and environment, and the path, size, mode and mtime of the
// module's source files (Go) and of all its files (All). It returns the memo
// file too, or "" when the fingerprint cannot be trusted: no StatCache, a
// go.work or a replace directive (inputs outside the module), or a source
// file written within the last second (a same-size rewrite inside the
// timestamp granularity would go unnoticed). Dependencies in the module cache
// are immutable by version, which go.sum pins, so they need no stat.
func (g *Go) fingerprint() (fp goFingerprint, memo string) {
	if g.o.StatCache == "" {
		return fp, ""
	}
	root, err := moduleRoot(g.o.Dir)
	if err != nil {
		return fp, ""
	}
	gomod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil || bytes.Contains(gomod, []byte("replace")) {
		return fp, ""
	}
	if _, err := findUp(g.o.Dir, "go.work"); err == nil {
		return fp, ""
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		return fp, ""
	}
	hGo, hAll := sha256.New(), sha256.New()
	encGo, encAll := json.NewEncoder(hGo), json.NewEncoder(hAll)
	encGo.Encode(keyVersion)
	encGo.Encode(g.o)
	encGo.Encode(g.o.Dir)
	if fi, err := os.Stat(goBin); err == nil {
		encGo.Encode([]any{goBin, fi.Size(), fi.ModTime().UnixNano()})
	}
	for _, k := range goEnvVars {
		v, ok := os.LookupEnv(k)
		encGo.Encode([]any{k, v, ok})
	}
	racy := time.Now().Add(-time.Second)
	trusted := true
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if d.Name() == ".git" || d.Name() == "node_modules" {
				return filepath.SkipDir
			}
			return nil // directories change only as their entries do, which the walk sees
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		rec := []any{rel, info.Mode(), info.Size(), info.ModTime().UnixNano()}
		encAll.Encode(rec)
		name := d.Name()
		if goSourceExt[filepath.Ext(name)] || name == "go.mod" || name == "go.sum" {
			if info.ModTime().After(racy) {
				trusted = false
			}
			encGo.Encode(rec)
			if filepath.Ext(name) == ".go" {
				fp.goFiles = append(fp.goFiles, p)
			}
		}
		return nil
	})
	if err != nil || !trusted {
		return goFingerprint{}, ""
	}
	fp.Go = hex.EncodeToString(hGo.Sum(nil))
	fp.All = hex.EncodeToString(hAll.Sum(nil))
	id := sha256.Sum256([]byte(fmt.Sprintf("%s\x00%s", g.o.Dir, g.o.Package)))
	return fp, filepath.Join(g.o.StatCache, "gokey-"+hex.EncodeToString(id[:12])+".json")
}

// moduleRoot is the directory of the go.mod that governs dir.
func moduleRoot(dir string) (string, error) {
	p, err := findUp(dir, "go.mod")
	if err != nil {
		return "", err
	}
	return filepath.Dir(p), nil
}

// findUp looks for name in dir and its parents.
func findUp(dir, name string) (string, error) {
	d, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for {
		p := filepath.Join(d, name)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
		parent := filepath.Dir(d)
		if parent == d {
			return "", fs.ErrNotExist
		}
		d = parent
	}
}
