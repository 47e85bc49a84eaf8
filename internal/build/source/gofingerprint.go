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
	Fingerprint string `json:"fingerprint"`
	Key         string `json:"key"`
}

// goEnvVars can change what go list or go build do.
var goEnvVars = []string{"PATH", "GOROOT", "GOPATH", "GOMODCACHE", "GOFLAGS", "GOTOOLCHAIN", "GOEXPERIMENT",
	"GOAMD64", "GOARM", "GOARM64", "GO386", "GOPROXY", "GONOSUMDB", "GOPRIVATE", "GOWORK", "GOINSECURE", "CC"}

// fingerprint hashes what go list would look at, cheaply: the options, the
// go command's binary and environment, and the path, size, mode and mtime of
// every file of the module. It returns the memo file too, or "" when the
// fingerprint cannot be trusted: no StatCache, a go.work or a replace
// directive (inputs outside the module), or a file written within the last
// second (a same-size rewrite inside the timestamp granularity would go
// unnoticed). Dependencies in the module cache are immutable by version,
// which go.sum pins, so they need no stat.
func (g *Go) fingerprint() (fp, memo string) {
	if g.o.StatCache == "" {
		return "", ""
	}
	root, err := moduleRoot(g.o.Dir)
	if err != nil {
		return "", ""
	}
	gomod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil || bytes.Contains(gomod, []byte("replace")) {
		return "", ""
	}
	if _, err := findUp(g.o.Dir, "go.work"); err == nil {
		return "", ""
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		return "", ""
	}
	h := sha256.New()
	enc := json.NewEncoder(h)
	enc.Encode(keyVersion)
	enc.Encode(g.o)
	enc.Encode(g.o.Dir)
	if fi, err := os.Stat(goBin); err == nil {
		enc.Encode([]any{goBin, fi.Size(), fi.ModTime().UnixNano()})
	}
	for _, k := range goEnvVars {
		v, ok := os.LookupEnv(k)
		enc.Encode([]any{k, v, ok})
	}
	racy := time.Now().Add(-time.Second)
	trusted := true
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "node_modules") {
			return filepath.SkipDir
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if !d.IsDir() && info.ModTime().After(racy) {
			trusted = false // directories only change as their entries do, which the walk sees
		}
		rel, _ := filepath.Rel(root, p)
		return enc.Encode([]any{rel, info.Mode(), info.Size(), info.ModTime().UnixNano()})
	})
	if err != nil || !trusted {
		return "", ""
	}
	fp = hex.EncodeToString(h.Sum(nil))
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
