package main

import (
	"os"
	"path/filepath"
	"testing"
	"time"
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

func TestCreatedAgo(t *testing.T) {
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	for d, want := range map[time.Duration]string{
		10 * time.Second:     "seconds ago",
		5 * time.Minute:      "5 minutes ago",
		30 * time.Hour:       "30 hours ago",
		10 * 24 * time.Hour:  "10 days ago",
		400 * 24 * time.Hour: "2024-04-27",
	} {
		if got := createdAgo(now.Add(-d), now); got != want {
			t.Errorf("createdAgo(-%v) = %q, want %q", d, got, want)
		}
	}
	if got := createdAgo(time.Unix(0, 0), now); got != "1970-01-01" {
		t.Errorf("epoch: %q", got)
	}
}
