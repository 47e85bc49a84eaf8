package sbom

import (
	"bytes"
	"debug/buildinfo"
)

// goPackages reads a Go binary's build info (nil for any other file): the
// standard library of the toolchain that built it, the main module and
// every dependency module (a replaced module as its replacement, which is
// what was compiled in), each located at the binary.
func goPackages(p string, data []byte) []Package {
	bi, err := buildinfo.Read(bytes.NewReader(data))
	if err != nil {
		return nil
	}
	loc := "/" + p
	out := []Package{{Kind: KindGolang, Name: "stdlib", Version: bi.GoVersion, GoVersion: bi.GoVersion, Location: loc, PURL: StdlibPURL(bi.GoVersion)}}
	if bi.Main.Path != "" {
		out = append(out, Package{Kind: KindGolang, Name: bi.Main.Path, Version: bi.Main.Version, GoVersion: bi.GoVersion, Main: true,
			Sum: bi.Main.Sum, Location: loc, PURL: GoPURL(bi.Main.Path, bi.Main.Version)})
	}
	for _, m := range bi.Deps {
		if m.Replace != nil {
			m = m.Replace
		}
		if m.Path == "" {
			continue
		}
		out = append(out, Package{Kind: KindGolang, Name: m.Path, Version: m.Version, GoVersion: bi.GoVersion, Sum: m.Sum,
			Location: loc, PURL: GoPURL(m.Path, m.Version)})
	}
	return out
}
