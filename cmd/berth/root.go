package main

import (
	"github.com/spf13/cobra"
)

func newRootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "berth",
		Short: "Immutable container infrastructure in one binary",
		Long: `berth builds minimal, reproducible OCI images, stores them in its own
registry, runs them on one host and deploys new releases with zero downtime.`,
		Example: `  # Start a private registry on loopback
  berth registry serve --addr 127.0.0.1:5000 --root /var/lib/berth/registry

  # Remove unreferenced blobs (what would go, without deleting)
  berth registry gc --root /var/lib/berth/registry --dry-run

  # Print the version
  berth version`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newVersionCommand())
	root.AddCommand(newRegistryCommand())
	root.AddCommand(newBuildCommand(), newLockCommand())
	root.AddCommand(newInspectCommand(), newDiffCommand(), newRebaseCommand())
	root.AddCommand(newDaemonCommand(), newUpCommand(), newDownCommand(), newPsCommand(), newLogsCommand(), newShimCommand(), newConfigCommand())
	root.AddCommand(newPullCommand(), newImagesCommand(), newRmiCommand(), newVolumeCommand(), newScaleCommand(), newPruneCommand())
	root.AddCommand(newExecCommand(), newStatsCommand())
	root.AddCommand(newDeployCommand(), newRollbackCommand(), newHistoryCommand(), newShipCommand(), newProxyCommand(), newPromoteCommand())
	return root
}
