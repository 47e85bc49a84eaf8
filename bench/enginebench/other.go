//go:build !linux

// Command enginebench needs Linux (runc, overlayfs, CNI, inotify, /proc).
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "enginebench: needs Linux")
	os.Exit(2)
}
