package main

import (
	"os"

	"github.com/spf13/cobra"

	engineruntime "github.com/berth-dev/berth/internal/engine/runtime"
)

// newShimCommand is the per-container supervisor the daemon starts
// detached (engineruntime.StartShim). It is internal, hence hidden, and
// parses its own flags so that the daemon and the supervisor agree on them
// in one place.
func newShimCommand() *cobra.Command {
	return &cobra.Command{
		Use:                "shim --bundle DIR --id ID --log FILE [--log-max-size N] [--log-max-files K] [--runtime runc] [--root DIR]",
		Short:              "Supervise one container (started by the daemon)",
		Hidden:             true,
		DisableFlagParsing: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			if code := engineruntime.ShimMain(args); code != 0 {
				// Diagnostics are already in the bundle's shim.log (or on
				// stderr for usage errors); only the status remains.
				os.Exit(code)
			}
			return nil
		},
	}
}
