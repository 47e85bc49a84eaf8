// Package buildinfo says which berth this is: the version set at link time,
// the Go version, the platform and the VCS commit.
package buildinfo

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// Info is `berth version --json`.
type Info struct {
	Version   string `json:"version"`
	GoVersion string `json:"goVersion"`
	Platform  string `json:"platform"`
	Commit    string `json:"commit,omitempty"`
}

// Current is this binary's Info; version is the one set at link time.
func Current(version string) Info {
	v := Info{Version: version, GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				v.Commit = s.Value
			}
		}
	}
	return v
}

// String is `berth version`'s line, without "berth ".
func (v Info) String() string {
	return fmt.Sprintf("%s (%s, %s)", v.Version, v.GoVersion, v.Platform)
}
