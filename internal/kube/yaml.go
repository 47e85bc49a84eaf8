package kube

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"go.yaml.in/yaml/v4"

	"github.com/berth-dev/berth/internal/atomicfile"
)

// MarshalYAML writes objects as one multi-document YAML stream, in order.
func MarshalYAML(objs []Object) ([]byte, error) {
	var buf bytes.Buffer
	for i, o := range objs {
		b, err := marshalObject(o)
		if err != nil {
			return nil, err
		}
		if i > 0 {
			buf.WriteString("---\n")
		}
		buf.Write(b)
	}
	return buf.Bytes(), nil
}

// marshalObject encodes an object through its JSON form (the API's field
// names and omitempty rules) as YAML with sorted keys. Not
// sigs.k8s.io/yaml: it re-parses the JSON as YAML, which is ten times
// slower and fails on strings YAML cannot hold raw (a DEL character).
func marshalObject(o Object) ([]byte, error) {
	fail := func(err error) ([]byte, error) {
		return nil, fmt.Errorf("%s %s: %w", o.GetObjectKind().GroupVersionKind().Kind, o.GetName(), err)
	}
	j, err := json.Marshal(o)
	if err != nil {
		return fail(err)
	}
	d := json.NewDecoder(bytes.NewReader(j))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return fail(err)
	}
	v = numbers(v)
	// creationTimestamp: null and an empty status are written by every
	// typed object; the server sets them.
	if m, ok := v.(map[string]any); ok {
		delete(m, "status") // the cluster's to write
		if meta, ok := m["metadata"].(map[string]any); ok && meta["creationTimestamp"] == nil {
			delete(meta, "creationTimestamp")
		}
		if spec, ok := m["spec"].(map[string]any); ok {
			if tmpl, ok := spec["template"].(map[string]any); ok {
				if meta, ok := tmpl["metadata"].(map[string]any); ok && meta["creationTimestamp"] == nil {
					delete(meta, "creationTimestamp")
				}
			}
		}
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(v); err != nil {
		return fail(err)
	}
	if err := enc.Close(); err != nil {
		return fail(err)
	}
	return buf.Bytes(), nil
}

// numbers turns json.Numbers into int64 (or float64) so they are written
// as plain numbers.
func numbers(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = numbers(e)
		}
	case []any:
		for i, e := range x {
			x[i] = numbers(e)
		}
	case json.Number:
		if n, err := x.Int64(); err == nil {
			return n
		}
		f, _ := x.Float64()
		return f
	}
	return v
}

// FileName is the file an object is written to by one-file-per-object
// export: NN-KIND-NAME.yaml, kind lower-case; NN is the object's place in
// the apply order, so the files sort as they apply.
func FileName(i int, o Object) string {
	return fmt.Sprintf("%02d-%s-%s.yaml", i, strings.ToLower(o.GetObjectKind().GroupVersionKind().Kind), o.GetName())
}

// Files returns the objects as one file each, named by FileName.
func Files(objs []Object) (map[string][]byte, error) {
	out := map[string][]byte{}
	for i, o := range objs {
		b, err := marshalObject(o)
		if err != nil {
			return nil, err
		}
		out[FileName(i, o)] = b
	}
	return out, nil
}

// WriteDir writes the objects into dir, one file each (FileName), each
// atomically; dir is created if missing. Files of earlier exports that
// no object has now are left alone (a GitOps repository's history shows
// the change; the caller may clear the directory first).
func WriteDir(dir string, objs []Object) error {
	files, err := Files(objs)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, name := range slices.Sorted(maps.Keys(files)) {
		if err := atomicfile.Write(filepath.Join(dir, name), files[name], 0o644); err != nil {
			return err
		}
	}
	return nil
}

// Write writes the objects into dir (WriteDir), or with dir "" to w as one
// YAML stream (MarshalYAML).
func Write(w io.Writer, dir string, objs []Object) error {
	if dir != "" {
		return WriteDir(dir, objs)
	}
	y, err := MarshalYAML(objs)
	if err == nil {
		_, err = w.Write(y)
	}
	return err
}
