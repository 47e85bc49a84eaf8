package engine

import (
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"

	"github.com/berth-dev/berth/internal/engine/api"
)

// Volume is a named volume (berth volume ls).
type Volume struct {
	Name       string   `json:"name"`
	Path       string   `json:"path"` // its data directory on the host
	Size       int64    `json:"size"` // bytes allocated on disk
	Containers []string `json:"containers,omitempty"`
}

// ErrUnknownVolume means no volume of that name exists.
var ErrUnknownVolume = errors.New("no such volume")

func (e *Engine) volumesDir() string { return filepath.Join(e.root, "volumes") }

// volumeUsers maps volume name → names of the containers that mount it.
func (e *Engine) volumeUsers() map[string][]string {
	e.mu.Lock()
	defer e.mu.Unlock()
	users := map[string][]string{}
	for _, m := range e.containers {
		for _, mt := range m.Spec.Mounts {
			if mt.Type == "volume" && mt.Source != "" {
				users[mt.Source] = append(users[mt.Source], m.Name)
			}
		}
	}
	for _, u := range users {
		sort.Strings(u)
	}
	return users
}

// Volumes lists the volumes on disk and those containers name (a volume
// is created on disk when its first container starts), sorted by name.
func (e *Engine) Volumes() ([]Volume, error) {
	users := e.volumeUsers()
	names := map[string]bool{}
	entries, err := os.ReadDir(e.volumesDir())
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	for _, de := range entries {
		if de.IsDir() && validName("volume", de.Name()) == nil {
			names[de.Name()] = true
		}
	}
	for n := range users {
		names[n] = true
	}
	out := make([]Volume, 0, len(names))
	for n := range names {
		dir := e.VolumeDir(n)
		size, err := diskUsage(dir)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("volume %s: %w", n, err)
		}
		out = append(out, Volume{Name: n, Path: filepath.Join(dir, "_data"), Size: size, Containers: users[n]})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// diskUsage is the space the files under dir take on disk (allocated
// blocks, each hard-linked inode once), as du reports it.
func diskUsage(dir string) (int64, error) {
	var total int64
	seen := map[[2]uint64]bool{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == dir {
				return err
			}
			return nil // a file removed while walking: not counted
		}
		info, err := d.Info()
		if err != nil {
			return nil
		}
		st, ok := info.Sys().(*syscall.Stat_t)
		if !ok {
			total += info.Size()
			return nil
		}
		key := [2]uint64{uint64(st.Dev), st.Ino}
		if st.Nlink > 1 {
			if seen[key] {
				return nil
			}
			seen[key] = true
		}
		total += st.Blocks * 512 // st_blocks counts 512-byte units whatever the block size
		return nil
	})
	return total, err
}

// removeVolume deletes a volume that exists and that no container uses;
// the error says which containers use it.
func (e *Engine) removeVolume(name string) error {
	if err := validName("volume", name); err != nil {
		return inputError{err}
	}
	if users := e.volumeUsers()[name]; len(users) > 0 {
		return fmt.Errorf("volume %s is in use by container(s) %s: remove them first (berth down)", name, strings.Join(users, ", "))
	}
	if _, err := os.Stat(e.VolumeDir(name)); errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("%w: %s", ErrUnknownVolume, name)
	}
	return e.RemoveVolume(name)
}

// ServeVolumes lists the volumes (api.ListVolumes).
func (e *Engine) ServeVolumes(w http.ResponseWriter, r *http.Request) {
	vs, err := e.Volumes()
	if err != nil {
		api.WriteError(w, http.StatusInternalServerError, err)
		return
	}
	api.WriteJSON(w, http.StatusOK, vs)
}

// ServeRemoveVolume removes a volume no container uses (api.RemoveVolume).
func (e *Engine) ServeRemoveVolume(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	err := e.removeVolume(name)
	switch {
	case err == nil:
		api.WriteJSON(w, http.StatusOK, map[string]string{"removed": name})
	case errors.Is(err, ErrUnknownVolume):
		api.WriteError(w, http.StatusNotFound, err)
	case errors.As(err, new(inputError)):
		api.WriteError(w, http.StatusBadRequest, err)
	default:
		api.WriteError(w, http.StatusConflict, err)
	}
}
