package imageref

import (
	"os"
	"strings"
)

// IsLocal reports whether ref names a layout or archive (which hold no
// referrers) rather than a registry image.
func IsLocal(ref string) bool {
	_, err := os.Stat(ref)
	return err == nil || strings.HasPrefix(ref, LayoutPrefix) || strings.HasPrefix(ref, ArchivePrefix)
}
