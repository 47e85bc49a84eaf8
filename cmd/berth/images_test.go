package main

import (
	"os"
	"path/filepath"
	"testing"
)

func TestDaemonRefMakesLocalPathsAbsolute(t *testing.T) {
	wd, _ := os.Getwd()
	for in, want := range map[string]string{
		"oci-layout:out:web":          "oci-layout:" + filepath.Join(wd, "out") + ":web",
		"docker-archive:img.tar":      "docker-archive:" + filepath.Join(wd, "img.tar"),
		"oci-layout:/abs/dir@sha256:": "oci-layout:/abs/dir@sha256:",
		"./layout":                    filepath.Join(wd, "layout"),
		"alpine:3.20":                 "alpine:3.20",
		"127.0.0.1:5000/shop/web:v1":  "127.0.0.1:5000/shop/web:v1",
	} {
		if got, err := daemonRef(in); err != nil || got != want {
			t.Errorf("daemonRef(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}
