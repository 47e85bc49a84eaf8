package daemon

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/berth-dev/berth/internal/engine/runtime"
	"github.com/berth-dev/berth/internal/model"
)

// maxFileValue bounds one secret's or config's value: both are small
// files (Swarm allows 500 KB), and a secret lives in memory.
const maxFileValue = 1 << 20

// secretsMounts writes a container's secrets to dir, a tmpfs of the
// container's own (their values never touch a disk), each owned and
// moded as the service asked, and returns the mounts that show them: the
// directory dir/run at /run/secrets for the plain-name targets, one file
// bind per absolute target.
func secretsMounts(dir string, secrets []model.Secret) ([]runtime.Mount, error) {
	run := filepath.Join(dir, "run")
	files := filepath.Join(dir, "files")
	// run is the root of the /run/secrets mount: a non-root user must be
	// able to look names up in it. Who may read each file is its mode's.
	for _, d := range []string{run, files} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
		if err := os.Chmod(d, 0o755); err != nil {
			return nil, err
		}
	}
	var out []runtime.Mount
	plain := false
	for i, s := range secrets {
		target, err := secretTarget(s)
		if err != nil {
			return nil, err
		}
		data, err := readValue(s.File)
		if err != nil {
			return nil, fmt.Errorf("secret %s: %w", s.Name, err)
		}
		mode := s.Mode
		if mode == 0 {
			mode = model.DefaultSecretMode
		}
		if mode > 0o777 {
			return nil, fmt.Errorf("secret %s: mode %o: only permission bits (0-0777)", s.Name, mode)
		}
		if !path.IsAbs(target) {
			if err := writeOwned(filepath.Join(run, target), data, s.UID, s.GID, mode); err != nil {
				return nil, fmt.Errorf("secret %s: %w", s.Name, err)
			}
			plain = true
			continue
		}
		src := filepath.Join(files, strconv.Itoa(i))
		if err := writeOwned(src, data, s.UID, s.GID, mode); err != nil {
			return nil, fmt.Errorf("secret %s: %w", s.Name, err)
		}
		out = append(out, runtime.Mount{Source: src, Destination: target, Type: "bind", ReadOnly: true,
			Options: []string{"nosuid", "nodev", "noexec"}})
	}
	if plain {
		out = append([]runtime.Mount{{Source: run, Destination: "/run/secrets", Type: "bind", ReadOnly: true,
			Options: []string{"nosuid", "nodev", "noexec"}}}, out...)
	}
	return out, nil
}

// secretTarget is where a secret goes: a plain file name (under
// /run/secrets) or a clean absolute path.
func secretTarget(s model.Secret) (string, error) {
	target := s.Target
	if target == "" {
		target = s.Name
	}
	if path.IsAbs(target) {
		if err := checkTarget(target); err != nil {
			return "", fmt.Errorf("secret %s: %w", s.Name, err)
		}
		return target, nil
	}
	if target == "." || target == ".." || strings.ContainsAny(target, "/\\\x00") {
		return "", fmt.Errorf("secret %s: target %q must be a plain file name (under /run/secrets) or an absolute path", s.Name, target)
	}
	return target, nil
}

// configsMounts writes a container's configs to dir (on disk: they are not
// secret), each owned and moded as the service asked, and returns one
// read-only file bind per config.
func configsMounts(dir string, configs []model.Config) ([]runtime.Mount, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var out []runtime.Mount
	for i, c := range configs {
		if err := checkTarget(c.Target); err != nil {
			return nil, fmt.Errorf("config %s: %w", c.Name, err)
		}
		data := []byte(c.Content)
		if c.File != "" {
			var err error
			if data, err = readValue(c.File); err != nil {
				return nil, fmt.Errorf("config %s: %w", c.Name, err)
			}
		}
		mode := c.Mode
		if mode == 0 {
			mode = model.DefaultConfigMode
		}
		if mode > 0o777 {
			return nil, fmt.Errorf("config %s: mode %o: only permission bits (0-0777)", c.Name, mode)
		}
		src := filepath.Join(dir, strconv.Itoa(i))
		if err := writeOwned(src, data, c.UID, c.GID, mode); err != nil {
			return nil, fmt.Errorf("config %s: %w", c.Name, err)
		}
		out = append(out, runtime.Mount{Source: src, Destination: c.Target, Type: "bind", ReadOnly: true,
			Options: []string{"nosuid", "nodev"}})
	}
	return out, nil
}

// checkTarget accepts a clean absolute container path other than /.
func checkTarget(t string) error {
	if !path.IsAbs(t) || path.Clean(t) != t || t == "/" || strings.ContainsAny(t, "\x00\\") {
		return fmt.Errorf("target %q must be a clean absolute path other than /", t)
	}
	return nil
}

// readValue reads a secret's or config's host file, which must be a
// regular file of at most maxFileValue bytes.
func readValue(name string) ([]byte, error) {
	if !filepath.IsAbs(name) {
		return nil, fmt.Errorf("file %q must be an absolute path", name)
	}
	data, err := readRegular(name, maxFileValue)
	if err != nil && !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, fs.ErrPermission) {
		return nil, fmt.Errorf("%s %w", name, err)
	}
	return data, err
}

// readRegular reads the regular file name, of at most limit bytes; other
// kinds of file (a FIFO would block, a device never end) are refused.
func readRegular(name string, limit int64) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, errors.New("is not a regular file")
	}
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("is larger than %d bytes", limit)
	}
	return data, nil
}

// writeOwned replaces name with a new file holding data, owned by uid:gid
// with mode. The file is created afresh (never through a link left in its
// place) and chowned before its mode is set, as chown clears set-id bits.
func writeOwned(name string, data []byte, uid, gid, mode uint32) error {
	if err := os.Remove(name); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL|unix.O_NOFOLLOW, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Chown(int(uid), int(gid))
	}
	if err == nil {
		err = f.Chmod(fs.FileMode(mode))
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(name)
	}
	return err
}
