//go:build linux

package source

import (
	"io/fs"
	"syscall"
)

func fileIdentity(fi fs.FileInfo) statEntry {
	e := statEntry{Size: fi.Size(), MTime: fi.ModTime().UnixNano()}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		e.CTime = st.Ctim.Nano()
		e.Inode = st.Ino
		e.Dev = uint64(st.Dev)
	}
	return e
}

// fileOwner returns the numeric owner of a file as recorded on disk.
func fileOwner(fi fs.FileInfo) (uid, gid int) {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return int(st.Uid), int(st.Gid)
	}
	return 0, 0
}

// hardlinkID identifies the inode of a file with several links (ok false
// when it has only one).
func hardlinkID(fi fs.FileInfo) (id [2]uint64, ok bool) {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && st.Nlink > 1 {
		return [2]uint64{uint64(st.Dev), st.Ino}, true
	}
	return id, false
}
