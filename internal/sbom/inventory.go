// Package sbom describes what is inside an image berth built: its
// inventory (Debian packages from dpkg's status data, Go modules and the Go
// version from Go binaries' build info, the files of files layers), rendered
// as SPDX 2.3 JSON and CycloneDX 1.6 JSON, and a SLSA v1 provenance
// predicate for the build. Output is deterministic: the same image (and
// SOURCE_DATE_EPOCH) gives the same bytes.
package sbom

import "time"

// Package kinds.
const (
	KindDeb    = "deb"
	KindGolang = "golang"
)

// NoAssertion is SPDX's "nothing is claimed" value.
const NoAssertion = "NOASSERTION"

// Inventory is what an image contains.
type Inventory struct {
	// Digest is the image manifest's digest (sha256:…).
	Digest string `json:"digest"`
	// Name is a human name for the image (a reference or berth.yaml image).
	Name     string    `json:"name"`
	Created  time.Time `json:"created"`
	OS       string    `json:"os"`
	Arch     string    `json:"architecture"`
	Distro   Distro    `json:"distro"`
	Packages []Package `json:"packages"` // sorted by Kind, Name, Version, Location
	Files    []File    `json:"files"`    // the files of files layers, by path
}

// Distro is the image's operating system from os-release ("" if none).
type Distro struct {
	ID        string `json:"id,omitempty"`
	VersionID string `json:"versionID,omitempty"`
}

// Package is one installed Debian package, Go module or Go standard
// library found in the image.
type Package struct {
	Kind    string `json:"kind"` // KindDeb or KindGolang
	Name    string `json:"name"` // Debian package name, Go module path or "stdlib"
	Version string `json:"version"`
	// Arch is the Debian architecture (deb only).
	Arch string `json:"arch,omitempty"`
	// Source and SourceVersion are the Debian source package and its
	// version when the status data names them (deb only; vulnerability
	// databases key Debian advisories by source package).
	Source        string `json:"source,omitempty"`
	SourceVersion string `json:"sourceVersion,omitempty"`
	// Licenses are the licences the package's DEP-5 copyright file
	// states, as SPDX license IDs or LicenseRef-… (empty: unknown).
	Licenses []string `json:"licenses,omitempty"`
	// GoVersion is the Go toolchain that built the binary (golang only).
	GoVersion string `json:"goVersion,omitempty"`
	// Main marks a Go binary's main module.
	Main bool `json:"main,omitempty"`
	// Sum is a Go module's go.sum hash (h1:…).
	Sum string `json:"sum,omitempty"`
	// Location is where in the image the package was found: the status
	// record or the binary.
	Location string `json:"location"`
	PURL     string `json:"purl"`
}

// File is a regular file of a files layer that is visible in the image.
type File struct {
	Path   string `json:"path"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
	SHA1   string `json:"sha1"`
}

// Component returns the Debian source package to match advisories on:
// Source, or the package name when the status data names none.
func (p Package) Component() string {
	if p.Source != "" {
		return p.Source
	}
	return p.Name
}
