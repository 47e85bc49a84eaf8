package kube

import (
	"bytes"
	"fmt"
	"strings"

	"sigs.k8s.io/yaml"
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

func marshalObject(o Object) ([]byte, error) {
	b, err := yaml.Marshal(o)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", o.GetObjectKind().GroupVersionKind().Kind, o.GetName(), err)
	}
	// creationTimestamp: null is written by every typed object; the
	// server sets it.
	return bytes.ReplaceAll(b, []byte("  creationTimestamp: null\n"), nil), nil
}

// FileName is the file an object is written to by one-file-per-object
// export: KIND-NAME.yaml, kind lower-case, in apply order when sorted
// (the number prefix keeps the kinds in kindOrder).
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
