package store

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/berth-dev/berth/internal/imageref"
)

// normalizeName turns a reference as a user writes it into the key images
// are recorded under, so "alpine", "alpine:latest" and
// "index.docker.io/library/alpine:latest" are one image, and a local layout
// or archive is named by its absolute path whatever the working directory.
func normalizeName(ref string) (string, error) {
	if ref == "" {
		return "", fmt.Errorf("empty image name")
	}
	if strings.ContainsAny(ref, "\x00\n\r\t ") {
		return "", fmt.Errorf("image name %q contains whitespace or control characters", ref)
	}
	for _, p := range []string{imageref.LayoutPrefix, imageref.ArchivePrefix} {
		if rest, ok := strings.CutPrefix(ref, p); ok {
			return localName(p, rest)
		}
	}
	// The same auto-detection imageref.Load does: an existing layout
	// directory or .tar file is local, anything else a registry reference.
	if st, err := os.Stat(ref); err == nil {
		if st.IsDir() {
			if _, err := os.Stat(filepath.Join(ref, "oci-layout")); err == nil {
				return localName(imageref.LayoutPrefix, ref)
			}
		} else if strings.HasSuffix(ref, ".tar") {
			return localName(imageref.ArchivePrefix, ref)
		}
	}
	r, err := name.ParseReference(ref, name.WeakValidation)
	if err != nil {
		return "", fmt.Errorf("image name %q: %v", ref, err)
	}
	return r.Name(), nil
}

// localName makes the path part of a local reference absolute. The suffix
// (":TAG" or "@DIGEST") survives because filepath.Abs is purely lexical.
func localName(prefix, rest string) (string, error) {
	if rest == "" {
		return "", fmt.Errorf("image name %q: missing path", prefix)
	}
	abs, err := filepath.Abs(rest)
	if err != nil {
		return "", fmt.Errorf("image name %q: %v", prefix+rest, err)
	}
	return prefix + abs, nil
}

// digestQuery extracts the digest (or digest prefix) a lookup string asks
// for: "sha256:HEX", a bare hex prefix, or "repo@sha256:HEX". ok is false
// when s cannot be one.
func digestQuery(s string) (prefix string, ok bool) {
	if i := strings.LastIndex(s, "@"); i >= 0 {
		s = s[i+1:]
	}
	hex := strings.TrimPrefix(s, "sha256:")
	if hex == "" || len(hex) > 64 {
		return "", false
	}
	for _, c := range hex {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return "", false
		}
	}
	return "sha256:" + hex, true
}
