package sbom

import (
	"net/url"
	"strings"
)

// DebPURL is the package URL of a Debian package, as syft writes it:
// pkg:deb/<distro id>/NAME@VERSION?arch=ARCH&upstream=SRC%40SRCVER&distro=<id>-<version id>.
// upstream is there only when the status data names a source (with its
// version when that differs); distro only when the image has os-release.
func DebPURL(d Distro, p Package) string {
	ns := d.ID
	if ns == "" {
		ns = "debian"
	}
	var q []string
	if p.Arch != "" {
		q = append(q, "arch="+escapeQualifier(p.Arch))
	}
	if p.Source != "" {
		up := p.Source
		if p.SourceVersion != "" {
			up += "@" + p.SourceVersion
		}
		q = append(q, "upstream="+escapeQualifier(up))
	}
	if d.ID != "" && d.VersionID != "" {
		q = append(q, "distro="+escapeQualifier(d.ID+"-"+d.VersionID))
	}
	s := "pkg:deb/" + escapeSegment(ns) + "/" + escapeSegment(p.Name) + "@" + escapeVersion(p.Version)
	if len(q) > 0 {
		s += "?" + strings.Join(q, "&")
	}
	return s
}

// GoPURL is the package URL of a Go module: pkg:golang/MODULE@VERSION (the
// module path's segments are the namespace and name, unescaped slashes);
// a main module without a version ("(devel)") has none.
func GoPURL(module, version string) string {
	segs := strings.Split(module, "/")
	for i, s := range segs {
		segs[i] = escapeSegment(s)
	}
	s := "pkg:golang/" + strings.Join(segs, "/")
	if version != "" && version != "(devel)" {
		s += "@" + escapeVersion(version)
	}
	return s
}

// StdlibPURL is the package URL of the Go standard library of toolchain
// goVersion ("go1.22.3" → pkg:golang/stdlib@1.22.3).
func StdlibPURL(goVersion string) string {
	return "pkg:golang/stdlib@" + escapeVersion(strings.TrimPrefix(goVersion, "go"))
}

// escapeSegment percent-encodes a purl path segment.
func escapeSegment(s string) string { return url.PathEscape(s) }

// escapeVersion percent-encodes a purl version as packageurl-go does: like
// a path segment, but '+' stays ("2.36-9+deb12u4") and ':' stays (epochs).
func escapeVersion(s string) string {
	return strings.ReplaceAll(url.PathEscape(s), "%2B", "+")
}

// escapeQualifier percent-encodes a qualifier value (url.QueryEscape, with
// spaces as %20): "glibc@2.36-9+deb12u4" → "glibc%402.36-9%2Bdeb12u4".
func escapeQualifier(s string) string {
	return strings.ReplaceAll(url.QueryEscape(s), "+", "%20")
}
