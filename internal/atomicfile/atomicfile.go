// Package atomicfile replaces files so that a crash — kill -9 or a power
// loss — leaves either the old content or the new, never a torn file: the
// content goes to a temp file in the same directory, which is fsynced,
// renamed over the target, and the directory fsynced so the rename itself
// is durable.
package atomicfile

import (
	"io"
	"os"
	"path/filepath"
)

// Write replaces path with data, mode perm.
func Write(path string, data []byte, perm os.FileMode) error {
	return WriteFrom(path, perm, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// WriteNoSync replaces path with data like Write — temp file, rename, so
// a reader or a kill -9 never sees a torn file — but without the two
// fsyncs (a few ms on the start path of every container). It is for files
// that only describe live processes (a supervisor's pid, a container's
// running spec): after a power loss those processes are gone anyway, and
// whatever the file then says is checked against the process table or
// rewritten. Records that must outlive a reboot use Write.
func WriteNoSync(path string, data []byte, perm os.FileMode) error {
	return write(path, perm, false, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// WriteFrom replaces path with what fill writes, mode perm. If fill (or
// anything after it) fails, the temp file is removed and path is untouched.
// The directory must exist.
func WriteFrom(path string, perm os.FileMode, fill func(io.Writer) error) error {
	return write(path, perm, true, fill)
}

func write(path string, perm os.FileMode, durable bool, fill func(io.Writer) error) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	err = fill(f)
	if err == nil {
		err = f.Chmod(perm)
	}
	if err == nil && durable {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	if !durable {
		return nil
	}
	return SyncDir(dir)
}

// SyncDir fsyncs a directory, making renames and creations in it durable.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
