// Package imageref turns the image references berth accepts on its command
// line and in berth.yaml into go-containerregistry images, and writes images
// back to the same kinds of places:
//
//	oci-layout:DIR[@sha256:HEX|:TAG]    an OCI image layout directory
//	docker-archive:FILE.tar[:REPO:TAG]  a `docker save` tarball
//	DIR or FILE.tar                     an existing layout / tarball (auto-detected)
//	anything else                       a registry reference (name.ParseReference)
package imageref

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/berth-dev/berth/internal/progress"
)

// Prefixes of the explicit local forms.
const (
	LayoutPrefix  = "oci-layout:"
	ArchivePrefix = "docker-archive:"
)

// Options tune how references are resolved.
type Options struct {
	// Platform selects one image from a multi-platform index or layout.
	// nil means linux and the host's architecture.
	Platform *v1.Platform
	// Insecure allows plain HTTP to registries other than loopback ones
	// (which are always allowed plain HTTP).
	Insecure bool
	// Transport is the HTTP transport for registry access (nil: ggcr's default).
	Transport http.RoundTripper
	// MountFrom, when set, names a repository of the same registry that
	// already holds a layer (registry is the host, e.g. "127.0.0.1:5000");
	// Write then mounts the layer from there instead of uploading it.
	// "" means not known.
	MountFrom func(registry string, layer v1.Hash) (repository string)
	// Progress, when set, receives Write's per-layer progress to a
	// registry (bytes sent, or already there, or mounted).
	Progress progress.Func
}

type kind int

const (
	kindLayout kind = iota
	kindArchive
	kindRegistry
)

func (k kind) String() string {
	switch k {
	case kindLayout:
		return "oci-layout"
	case kindArchive:
		return "docker-archive"
	default:
		return "registry"
	}
}

// location is a parsed reference.
type location struct {
	kind   kind
	path   string         // layout directory or archive file
	tag    string         // layout ref.name or archive REPO:TAG ("" = none)
	digest *v1.Hash       // layout manifest digest
	ref    name.Reference // registry reference
	orig   string         // the string as given, for error messages
}

// form names the location for error messages: "oci-layout:/x".
func (l location) form() string {
	switch l.kind {
	case kindLayout:
		return LayoutPrefix + l.path
	case kindArchive:
		return ArchivePrefix + l.path
	default:
		return l.orig
	}
}

// parse classifies s. forWrite relaxes the existence checks that auto-detection
// relies on (an output layout or archive usually does not exist yet).
func parse(s string, o Options, forWrite bool) (location, error) {
	if s == "" {
		return location{}, fmt.Errorf("empty image reference")
	}
	switch {
	case strings.HasPrefix(s, LayoutPrefix):
		return parseLayout(s, strings.TrimPrefix(s, LayoutPrefix))
	case strings.HasPrefix(s, ArchivePrefix):
		return parseArchive(s, strings.TrimPrefix(s, ArchivePrefix))
	}

	// Auto-detection: only an existing layout directory or an existing .tar
	// file is taken as local, so a directory that happens to be called like a
	// Docker Hub image ("debian") never shadows the registry reference.
	if st, err := os.Stat(s); err == nil {
		if st.IsDir() {
			if _, err := os.Stat(filepath.Join(s, "oci-layout")); err == nil {
				return location{kind: kindLayout, path: s, orig: s}, nil
			}
			if forWrite || looksLikePath(s) {
				return location{}, fmt.Errorf("%s: directory is not an OCI image layout (no oci-layout file); write %s%s to create one", s, LayoutPrefix, s)
			}
		} else if strings.HasSuffix(s, ".tar") {
			return location{kind: kindArchive, path: s, orig: s}, nil
		}
	} else {
		if strings.HasSuffix(s, ".tar") {
			if forWrite {
				return location{kind: kindArchive, path: s, orig: s}, nil
			}
			return location{}, fmt.Errorf("docker-archive:%s: %w", s, syscall.ENOENT)
		}
		if looksLikePath(s) {
			if forWrite {
				return location{}, fmt.Errorf("%s: not an existing OCI layout; say %s%s or %s%s", s, LayoutPrefix, s, ArchivePrefix, s)
			}
			return location{}, fmt.Errorf("%s: %w", s, syscall.ENOENT)
		}
	}
	return parseRegistry(s, o)
}

// looksLikePath reports whether s can only be a filesystem path, never a
// registry reference.
func looksLikePath(s string) bool {
	return strings.HasPrefix(s, "/") || strings.HasPrefix(s, "./") || strings.HasPrefix(s, "../") ||
		s == "." || s == ".." || strings.HasPrefix(s, "~")
}

// parseLayout splits DIR[@digest|:tag].
func parseLayout(orig, rest string) (location, error) {
	l := location{kind: kindLayout, orig: orig}
	if rest == "" {
		return l, fmt.Errorf("%s: missing directory (want %sDIR[:TAG|@sha256:HEX])", orig, LayoutPrefix)
	}
	if i := strings.LastIndex(rest, "@"); i >= 0 {
		h, err := v1.NewHash(rest[i+1:])
		if err != nil {
			return l, fmt.Errorf("%s: invalid digest %q: %v", orig, rest[i+1:], err)
		}
		l.path, l.digest = rest[:i], &h
	} else if isDir(rest) {
		l.path = rest
	} else if i := strings.LastIndex(rest, ":"); i > 0 && i > strings.LastIndex(rest, "/") {
		l.path, l.tag = rest[:i], rest[i+1:]
		if l.tag == "" {
			return l, fmt.Errorf("%s: empty tag after ':'", orig)
		}
	} else {
		l.path = rest
	}
	if l.path == "" {
		return l, fmt.Errorf("%s: missing directory", orig)
	}
	return l, nil
}

// parseArchive splits FILE[:REPO:TAG]. The tag itself contains ':' and may
// contain '/', so the split point is where an existing file ends, or else
// right after ".tar".
func parseArchive(orig, rest string) (location, error) {
	l := location{kind: kindArchive, orig: orig}
	if rest == "" {
		return l, fmt.Errorf("%s: missing file (want %sFILE.tar[:REPO:TAG])", orig, ArchivePrefix)
	}
	l.path = rest
	if !isFile(rest) {
		split := -1
		for i := 0; i < len(rest); i++ {
			if rest[i] == ':' && i > 0 && isFile(rest[:i]) {
				split = i
				break
			}
		}
		if split < 0 {
			if i := strings.Index(rest, ".tar:"); i >= 0 {
				split = i + len(".tar")
			}
		}
		if split >= 0 {
			l.path, l.tag = rest[:split], rest[split+1:]
		}
	}
	if l.tag != "" {
		if _, err := name.NewTag(l.tag); err != nil {
			return l, fmt.Errorf("%s: invalid REPO:TAG %q: %v", orig, l.tag, err)
		}
	}
	return l, nil
}

// parseRegistry parses a registry reference; loopback registries speak plain
// HTTP without being told (a local berth registry is the common case).
func parseRegistry(s string, o Options) (location, error) {
	ref, err := name.ParseReference(s)
	if err != nil {
		return location{}, fmt.Errorf("%q is neither an existing OCI layout or .tar file nor a valid registry reference: %v", s, err)
	}
	if o.Insecure || isLoopback(ref.Context().RegistryStr()) {
		ref, err = name.ParseReference(s, name.Insecure)
		if err != nil {
			return location{}, fmt.Errorf("registry reference %q: %v", s, err)
		}
	}
	return location{kind: kindRegistry, ref: ref, orig: s}, nil
}

// isLoopback reports whether a registry host[:port] is localhost, 127.0.0.1
// or ::1 (the latter possibly bracketed).
func isLoopback(registry string) bool {
	host := registry
	if h, _, err := net.SplitHostPort(registry); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	switch host {
	case "localhost", "127.0.0.1", "::1":
		return true
	}
	return false
}

func isDir(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

func isFile(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}
