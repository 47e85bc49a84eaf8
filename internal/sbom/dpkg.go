package sbom

import (
	"bytes"
	"fmt"
	"path"
	"strings"

	"github.com/berth-dev/berth/internal/deb"
)

// debPackages turns the status data (dpkg's status file and status.d
// records) into packages: those marked installed, or with no Status field
// (distroless records), each with its licences from its copyright file.
func (s *scanner) debPackages(d Distro) ([]Package, error) {
	var out []Package
	for _, f := range s.status {
		err := deb.ParseParagraphs(bytes.NewReader(f.data), func(p deb.Paragraph) error {
			pkg, ok, err := statusPackage(p)
			if err != nil || !ok {
				return err
			}
			pkg.Location = "/" + f.path
			pkg.Licenses = Licenses(s.copyrightOf(pkg.Name))
			pkg.PURL = DebPURL(d, pkg)
			out = append(out, pkg)
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("/%s: %w", f.path, err)
		}
	}
	return out, nil
}

// statusPackage reads one status paragraph; ok is false for a package
// that is not installed (dpkg keeps removed and half-installed ones).
func statusPackage(p deb.Paragraph) (Package, bool, error) {
	if st, ok := p.Lookup("Status"); ok {
		f := strings.Fields(st)
		if len(f) != 3 || f[2] != "installed" || f[0] == "deinstall" || f[0] == "purge" {
			return Package{}, false, nil
		}
	}
	name, version := strings.TrimSpace(p.Get("Package")), strings.TrimSpace(p.Get("Version"))
	if name == "" {
		return Package{}, false, fmt.Errorf("a paragraph has no Package field")
	}
	if version == "" {
		return Package{}, false, fmt.Errorf("package %s: no Version field", name)
	}
	if strings.ContainsAny(name+version, " \t\n") {
		return Package{}, false, fmt.Errorf("package %q: Package or Version %q holds whitespace", name, version)
	}
	pkg := Package{Kind: KindDeb, Name: name, Version: version, Arch: strings.TrimSpace(p.Get("Architecture"))}
	if src, ok := p.Lookup("Source"); ok {
		var err error
		if pkg.Source, pkg.SourceVersion, err = ParseSource(src); err != nil {
			return Package{}, false, fmt.Errorf("package %s: %w", name, err)
		}
		if pkg.Source == name && pkg.SourceVersion == "" {
			pkg.Source = "" // "Source: NAME": the same as none, as syft writes it
		}
	}
	return pkg, true, nil
}

// ParseSource parses a Source field: "NAME" or "NAME (VERSION)".
func ParseSource(v string) (name, version string, err error) {
	v = strings.TrimSpace(v)
	name, rest, _ := strings.Cut(v, " ")
	rest = strings.TrimSpace(rest)
	if name == "" || strings.ContainsAny(name, "()\t\n") {
		return "", "", fmt.Errorf("Source %q: want NAME or NAME (VERSION)", v)
	}
	if rest == "" {
		return name, "", nil
	}
	if !strings.HasPrefix(rest, "(") || !strings.HasSuffix(rest, ")") {
		return "", "", fmt.Errorf("Source %q: want NAME or NAME (VERSION)", v)
	}
	version = strings.TrimSpace(rest[1 : len(rest)-1])
	if version == "" || strings.ContainsAny(version, "() \t\n") {
		return "", "", fmt.Errorf("Source %q: bad version", v)
	}
	return name, version, nil
}

// copyrightOf returns the package's copyright file, following a
// usr/share/doc/NAME symlink to a sibling doc directory once (Debian links
// -dev and library packages' doc directories to their source's).
func (s *scanner) copyrightOf(name string) []byte {
	if data, ok := s.copyright[name]; ok {
		return data
	}
	if target, ok := s.docLinks[name]; ok && !strings.HasPrefix(target, "/") {
		return s.copyright[path.Base(path.Clean(target))]
	}
	return nil
}
