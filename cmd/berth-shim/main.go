// Command berth-shim is the per-container supervisor the berth daemon
// starts detached for every container (internal/engine/runtime.StartShim):
// it runs runc, copies the container's output into rotated JSON-lines logs
// and records how the container exited, so containers outlive the daemon.
//
// It is a binary of its own, not "berth shim", because one runs per
// container for the container's whole life: this one links only the
// supervisor (no cobra, registry, builder or compose code), so it starts in
// a few milliseconds and stays at a few MiB of memory. The daemon finds it
// next to the berth executable or on PATH, and falls back to "berth shim".
//
//	berth-shim --bundle DIR --id ID --log FILE [--log-max-size N] [--log-max-files K] [--runtime runc] [--root DIR]
package main

import (
	"os"

	engineruntime "github.com/berth-dev/berth/internal/engine/runtime"
)

func main() {
	// Diagnostics go to the bundle's shim.log (usage errors to stderr);
	// the exit status is all that is left to report.
	os.Exit(engineruntime.ShimMain(os.Args[1:]))
}
