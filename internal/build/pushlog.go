package build

import (
	"github.com/berth-dev/berth/internal/atomicfile"

	"encoding/json"
	"os"
	"path/filepath"
	"sync"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// PushLog remembers which repository of which registry received each layer,
// so a later push of the same layer to another repository of that registry
// is a cross-repository mount instead of an upload.
type PushLog struct {
	path string

	mu sync.Mutex
	// Layers maps registry host → layer digest → repository.
	Layers map[string]map[string]string `json:"layers"`
}

// OpenPushLog reads the log in dir (an unreadable log starts empty: it is
// only a hint, and a wrong hint costs an upload, since a failed mount falls
// back to one).
func OpenPushLog(dir string) *PushLog {
	l := &PushLog{path: filepath.Join(dir, "pushed.json"), Layers: map[string]map[string]string{}}
	if raw, err := os.ReadFile(l.path); err == nil {
		_ = json.Unmarshal(raw, l)
		if l.Layers == nil {
			l.Layers = map[string]map[string]string{}
		}
	}
	return l
}

// MountFrom is an imageref.Options.MountFrom.
func (l *PushLog) MountFrom(registry string, layer v1.Hash) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.Layers[registry][layer.String()]
}

// Record notes that repository of registry now holds img's layers, and
// saves the log.
func (l *PushLog) Record(registry, repository string, img v1.Image) error {
	layers, err := img.Layers()
	if err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	m := l.Layers[registry]
	if m == nil {
		m = map[string]string{}
		l.Layers[registry] = m
	}
	for _, lay := range layers {
		d, err := lay.Digest()
		if err != nil {
			return err
		}
		m[d.String()] = repository
	}
	raw, err := json.Marshal(l)
	if err != nil {
		return err
	}
	return atomicfile.Write(l.path, raw, 0o644)
}
