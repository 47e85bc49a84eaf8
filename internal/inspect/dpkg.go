package inspect

import (
	"bufio"
	"bytes"
	"sort"
	"strings"
)

// packages reads the Debian packages installed in fs: every paragraph of
// var/lib/dpkg/status (dpkg's own database) and of the files in
// var/lib/dpkg/status.d/ (distroless and rules_distroless write one control
// paragraph per package there, without a Status field). Returns name →
// version; a package present for two architectures is keyed "name:arch".
func packages(fs filesystem) map[string]string {
	out := map[string]string{}
	arch := map[string]string{}
	for _, p := range fs.sortedPaths() {
		e := fs[p]
		if e.data == nil || !isDpkgStatus(p) {
			continue
		}
		for _, para := range parseParagraphs(e.data) {
			name, version := para["Package"], para["Version"]
			if name == "" || version == "" {
				continue
			}
			// dpkg keeps removed-but-configured and half-installed packages
			// in status; only "… installed" ones are in the image.
			if st, ok := para["Status"]; ok {
				f := strings.Fields(st)
				if len(f) == 0 || f[len(f)-1] != "installed" {
					continue
				}
			}
			a := para["Architecture"]
			if prev, ok := arch[name]; ok && prev != a && a != "" {
				out[name+":"+a] = version
				continue
			}
			arch[name] = a
			out[name] = version
		}
	}
	return out
}

// parseParagraphs splits deb822 text into paragraphs of field → value
// (continuation lines are ignored: Package, Version, Status and Architecture
// are single-line fields).
func parseParagraphs(data []byte) []map[string]string {
	var out []map[string]string
	cur := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64*1024), 16<<20)
	flush := func() {
		if len(cur) > 0 {
			out = append(out, cur)
			cur = map[string]string{}
		}
	}
	for sc.Scan() {
		line := sc.Text()
		if strings.TrimSpace(line) == "" {
			flush()
			continue
		}
		if line[0] == ' ' || line[0] == '\t' || line[0] == '#' {
			continue
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		cur[strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	flush()
	return out
}

// PackageChange is a Debian package added, removed or changed in version.
type PackageChange struct {
	Name   string `json:"name"`
	Change string `json:"change"` // added | removed | changed
	From   string `json:"from,omitempty"`
	To     string `json:"to,omitempty"`
}

func diffPackages(a, b map[string]string) []PackageChange {
	out := []PackageChange{}
	for n, va := range a {
		vb, ok := b[n]
		switch {
		case !ok:
			out = append(out, PackageChange{Name: n, Change: "removed", From: va})
		case va != vb:
			out = append(out, PackageChange{Name: n, Change: "changed", From: va, To: vb})
		}
	}
	for n, vb := range b {
		if _, ok := a[n]; !ok {
			out = append(out, PackageChange{Name: n, Change: "added", To: vb})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}
