package build

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/berth-dev/berth/internal/build/cache"
	"github.com/berth-dev/berth/internal/spec"
)

// CacheDir is where berth keeps build cache, downloads and indexes:
// $BERTH_CACHE, else $XDG_CACHE_HOME/berth, else ~/.cache/berth.
func CacheDir() (string, error) {
	if d := os.Getenv("BERTH_CACHE"); d != "" {
		return d, nil
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("no cache directory (set BERTH_CACHE): %w", err)
	}
	return filepath.Join(d, "berth"), nil
}

// SourceDateEpoch reads SOURCE_DATE_EPOCH (the reproducible-builds
// convention); unset means the Unix epoch.
func SourceDateEpoch() (time.Time, error) {
	s, ok := os.LookupEnv("SOURCE_DATE_EPOCH")
	if !ok || s == "" {
		return time.Unix(0, 0).UTC(), nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return time.Time{}, fmt.Errorf("SOURCE_DATE_EPOCH=%q: want a non-negative number of seconds", s)
	}
	return time.Unix(n, 0).UTC(), nil
}

// New returns the builder the CLI uses for file: the layer cache under
// CacheDir, SOURCE_DATE_EPOCH, and berth.lock next to the file (frozen when
// it exists). progress, when non-nil, gets one line per build event.
func New(file *spec.File, progress io.Writer) (*Builder, error) {
	dir, err := CacheDir()
	if err != nil {
		return nil, err
	}
	c, err := cache.Open(filepath.Join(dir, "layers"))
	if err != nil {
		return nil, err
	}
	epoch, err := SourceDateEpoch()
	if err != nil {
		return nil, err
	}
	lockPath := filepath.Join(file.Dir, "berth.lock")
	lock, err := ReadLockfile(lockPath)
	if err != nil {
		return nil, err
	}
	b := &Builder{
		File: file, Cache: c, CacheDir: dir, HTTP: &http.Client{Timeout: 10 * time.Minute},
		Epoch: epoch, Lock: lock, LockPath: lockPath, Frozen: lock != nil,
	}
	if progress != nil {
		b.Progress = func(e Event) { fmt.Fprintln(progress, FormatEvent(e)) }
	}
	return b, nil
}

// FormatEvent is a build event as one progress line.
func FormatEvent(e Event) string {
	line := fmt.Sprintf("%s/%s: %s", e.Image, e.Layer, e.Status)
	if e.Detail != "" {
		line += " " + e.Detail
	}
	if e.Duration > 0 {
		line += fmt.Sprintf(" (%s)", e.Duration.Round(time.Millisecond))
	}
	return line
}
