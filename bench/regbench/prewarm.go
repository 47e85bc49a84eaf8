package main

import (
	"runtime"
	"runtime/debug"
)

// prewarm touches gib GiB of fresh memory and gives it back to the kernel.
//
// Why: on a freshly booted VM (this project's machines are Firecracker
// guests) the first touch of a guest page costs a host page fault; writing a
// blob into the page cache then costs ~2.9 ms of kernel CPU per MiB instead
// of ~0.5 ms, and the push scenario measures that, not the registry. Pages
// touched once are cheap afterwards. Running this before each write-heavy
// scenario, for every server alike, measures the servers in the steady state
// of a long-running host.
func prewarm(gib int) {
	if gib <= 0 {
		return
	}
	const chunk = 256 << 20
	var keep [][]byte
	for i := 0; i < gib*4; i++ {
		b := make([]byte, chunk)
		for j := 0; j < len(b); j += 4096 {
			b[j] = 1
		}
		keep = append(keep, b)
	}
	runtime.KeepAlive(keep)
	keep = nil
	runtime.GC()
	debug.FreeOSMemory()
}
