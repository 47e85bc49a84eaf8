//go:build !linux

package source

import "io/fs"

// Without inode/ctime the stat cache relies on size and mtime only, and
// owners and hardlinks of a directory tree are not preserved.
func fileIdentity(fi fs.FileInfo) statEntry {
	return statEntry{Size: fi.Size(), MTime: fi.ModTime().UnixNano()}
}

func fileOwner(fs.FileInfo) (uid, gid int) { return 0, 0 }

func hardlinkID(fs.FileInfo) (id [2]uint64, ok bool) { return id, false }
