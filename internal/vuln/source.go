package vuln

import (
	"archive/zip"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// readSource calls fn with the name and bytes of every OSV JSON file of
// src: a directory tree (every regular *.json file below it; symbolic links
// are not followed) or a .zip archive (every *.json entry, as osv.dev's
// per-ecosystem all.zip). Names are "src/rel/path" or "src!entry".
func readSource(src string, fn func(name string, data []byte) error) error {
	st, err := os.Stat(src)
	if err != nil {
		return fmt.Errorf("vulndb import: %w", err)
	}
	switch {
	case st.IsDir():
		return readDir(src, fn)
	case st.Mode().IsRegular() && strings.HasSuffix(strings.ToLower(src), ".zip"):
		return readZip(src, fn)
	case st.Mode().IsRegular() && strings.HasSuffix(strings.ToLower(src), ".json"):
		data, err := readLimited(src)
		if err != nil {
			return err
		}
		return fn(src, data)
	default:
		return fmt.Errorf("vulndb import: %s: want a directory, a .zip or a .json file of OSV records", src)
	}
}

func readDir(root string, fn func(string, []byte) error) error {
	var files []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() && strings.HasSuffix(d.Name(), ".json") {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("vulndb import: %w", err)
	}
	sort.Strings(files)
	for _, p := range files {
		data, err := readLimited(p)
		if err != nil {
			return err
		}
		if err := fn(p, data); err != nil {
			return err
		}
	}
	return nil
}

func readLimited(p string) ([]byte, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, fmt.Errorf("vulndb import: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxRecord+1))
	if err != nil {
		return nil, fmt.Errorf("vulndb import: %s: %w", p, err)
	}
	return data, nil
}

func readZip(p string, fn func(string, []byte) error) error {
	zr, err := zip.OpenReader(p)
	if err != nil {
		return fmt.Errorf("vulndb import: %s: %w", p, err)
	}
	defer zr.Close()
	for _, f := range zr.File {
		if !f.Mode().IsRegular() || !strings.HasSuffix(f.Name, ".json") {
			continue
		}
		name := p + "!" + f.Name
		if f.UncompressedSize64 > maxRecord {
			return fmt.Errorf("%s: %d bytes, more than the %d an OSV record may have", name, f.UncompressedSize64, maxRecord)
		}
		rc, err := f.Open()
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		data, err := io.ReadAll(io.LimitReader(rc, maxRecord+1))
		rc.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if err := fn(name, data); err != nil {
			return err
		}
	}
	return nil
}
