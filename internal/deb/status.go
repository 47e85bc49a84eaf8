package deb

import (
	"path"
	"strings"
)

// StatusDir is where distroless-style images keep dpkg metadata: one file
// per package instead of /var/lib/dpkg/status, so every package layer can
// carry its own record without rewriting a shared file. trivy, grype and syft
// read it.
const StatusDir = "var/lib/dpkg/status.d"

// StatusPath is the image path of the status.d record of a package.
func StatusPath(pkg string) string { return path.Join(StatusDir, pkg) }

// MD5sumsPath is the image path of the md5sums file next to the record
// (distroless writes status.d/<pkg>.md5sums).
func MD5sumsPath(pkg string) string { return path.Join(StatusDir, pkg+".md5sums") }

// archiveOnlyFields describe the .deb inside the repository, not the
// installed package; dpkg's own status never contains them.
var archiveOnlyFields = []string{"Filename", "Size", "MD5sum", "SHA1", "SHA256", "SHA512", "Description-md5"}

// StatusParagraph renders the status.d record for a package: its control
// paragraph (from Packages or the .deb) without the archive-only fields, with
// "Status: install ok installed" right after "Package" as dpkg writes it.
func StatusParagraph(control Paragraph) []byte {
	p := control.Clone()
	for _, f := range archiveOnlyFields {
		p.Delete(f)
	}
	p.Delete("Status")
	status := Field{Name: "Status", Value: "install ok installed"}
	out := make(Paragraph, 0, len(p)+1)
	inserted := false
	for _, f := range p {
		out = append(out, f)
		if !inserted && strings.EqualFold(f.Name, "Package") {
			out = append(out, status)
			inserted = true
		}
	}
	if !inserted {
		out = append(Paragraph{status}, out...)
	}
	return out.Bytes()
}
