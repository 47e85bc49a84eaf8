package sbom

import (
	"bufio"
	"bytes"
	"sort"
	"strings"
)

// Licenses returns the licences a DEP-5 (machine-readable,
// https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/)
// copyright file states: every License field's short name, split at "or"
// / "and", mapped to SPDX license IDs where Debian's name has one and
// LicenseRef-NAME otherwise; sorted, distinct. A copyright file in free
// form (not DEP-5) or none gives nil: the licence is unknown (SPDX
// NOASSERTION).
func Licenses(copyright []byte) []string {
	sc := bufio.NewScanner(bytes.NewReader(copyright))
	sc.Buffer(make([]byte, 64<<10), maxMetadata)
	first := true
	seen := map[string]bool{}
	for sc.Scan() {
		line := sc.Text()
		if first {
			first = false
			k, v, ok := strings.Cut(line, ":")
			if !ok || !strings.EqualFold(strings.TrimSpace(k), "Format") || !isDEP5(v) {
				return nil
			}
			continue
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok || !strings.EqualFold(k, "License") {
			continue
		}
		for _, name := range splitExpression(v) {
			seen[SPDXLicense(name)] = true
		}
	}
	if len(seen) == 0 {
		return nil
	}
	out := make([]string, 0, len(seen))
	for l := range seen {
		out = append(out, l)
	}
	sort.Strings(out)
	return out
}

func isDEP5(format string) bool {
	f := strings.ToLower(format)
	return strings.Contains(f, "copyright-format") || strings.Contains(f, "dep5") || strings.Contains(f, "dep-5")
}

// splitExpression splits a Debian license short-name expression
// ("GPL-2+ or Artistic-1.0", "BSD-3-clause and MIT", "GPL-2+ with OpenSSL
// exception") into the names it combines; an exception stays with its
// licence ("GPL-2+ with OpenSSL exception" is one name).
func splitExpression(v string) []string {
	var out, cur []string
	flush := func() {
		if len(cur) > 0 {
			out = append(out, strings.Join(cur, " "))
			cur = nil
		}
	}
	for _, w := range strings.Fields(v) {
		w = strings.Trim(w, ",")
		if w == "" {
			continue
		}
		if l := strings.ToLower(w); l == "or" || l == "and" {
			flush()
			continue
		}
		cur = append(cur, w)
	}
	flush()
	return out
}

// debianToSPDX maps Debian short names (copyright-format 1.0 §7.8) to SPDX
// license IDs.
var debianToSPDX = map[string]string{
	"apache-2.0": "Apache-2.0", "artistic": "Artistic-1.0-Perl", "artistic-1.0": "Artistic-1.0", "artistic-2.0": "Artistic-2.0",
	"bsd-2-clause": "BSD-2-Clause", "bsd-3-clause": "BSD-3-Clause", "bsd-4-clause": "BSD-4-Clause",
	"cc0-1.0": "CC0-1.0", "expat": "MIT", "mit": "MIT", "isc": "ISC", "zlib": "Zlib", "bsl-1.0": "BSL-1.0",
	"gpl-1": "GPL-1.0-only", "gpl-1+": "GPL-1.0-or-later", "gpl-2": "GPL-2.0-only", "gpl-2+": "GPL-2.0-or-later",
	"gpl-2.0": "GPL-2.0-only", "gpl-2.0+": "GPL-2.0-or-later", "gpl-3": "GPL-3.0-only", "gpl-3+": "GPL-3.0-or-later",
	"gpl-3.0": "GPL-3.0-only", "gpl-3.0+": "GPL-3.0-or-later",
	"lgpl-2": "LGPL-2.0-only", "lgpl-2+": "LGPL-2.0-or-later", "lgpl-2.0": "LGPL-2.0-only", "lgpl-2.0+": "LGPL-2.0-or-later",
	"lgpl-2.1": "LGPL-2.1-only", "lgpl-2.1+": "LGPL-2.1-or-later", "lgpl-3": "LGPL-3.0-only", "lgpl-3+": "LGPL-3.0-or-later",
	"lgpl-3.0": "LGPL-3.0-only", "lgpl-3.0+": "LGPL-3.0-or-later",
	"agpl-3": "AGPL-3.0-only", "agpl-3+": "AGPL-3.0-or-later", "gfdl-1.2": "GFDL-1.2-only", "gfdl-1.2+": "GFDL-1.2-or-later",
	"gfdl-1.3": "GFDL-1.3-only", "gfdl-1.3+": "GFDL-1.3-or-later", "mpl-1.1": "MPL-1.1", "mpl-2.0": "MPL-2.0",
	"psf-2": "PSF-2.0", "python-2.0": "Python-2.0", "openssl": "OpenSSL", "curl": "curl", "x11": "X11",
	"unicode-dfs-2016": "Unicode-DFS-2016", "ofl-1.1": "OFL-1.1", "wtfpl": "WTFPL", "ftl": "FTL",
}

// SPDXLicense maps one Debian license short name to an SPDX license ID, or
// LicenseRef-NAME (with characters SPDX does not allow in an ID replaced
// by '-') when SPDX has none.
func SPDXLicense(name string) string {
	if id, ok := debianToSPDX[strings.ToLower(name)]; ok {
		return id
	}
	var b strings.Builder
	for _, r := range name {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' {
			b.WriteRune(r)
		} else if r == '+' {
			b.WriteString("-or-later")
		} else {
			b.WriteByte('-')
		}
	}
	return "LicenseRef-" + b.String()
}

// IsLicenseRef reports whether id is a LicenseRef (not an SPDX list ID).
func IsLicenseRef(id string) bool { return strings.HasPrefix(id, "LicenseRef-") }
