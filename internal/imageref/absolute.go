package imageref

import (
	"path/filepath"
	"strings"
)

// Absolute makes the path of a local reference (oci-layout:DIR,
// docker-archive:FILE, or a bare ./path) absolute: the daemon resolves
// references in its own working directory, not the client's.
// filepath.Abs is lexical, so a ":TAG" or "@DIGEST" suffix survives.
func Absolute(ref string) (string, error) {
	for _, p := range []string{LayoutPrefix, ArchivePrefix} {
		if rest, ok := strings.CutPrefix(ref, p); ok && rest != "" {
			abs, err := filepath.Abs(rest)
			return p + abs, err
		}
	}
	if strings.HasPrefix(ref, "./") || strings.HasPrefix(ref, "../") || ref == "." || ref == ".." {
		return filepath.Abs(ref)
	}
	return ref, nil
}
