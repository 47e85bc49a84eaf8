package main

import (
	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/internal/buildinfo"
	"github.com/berth-dev/berth/internal/cliflag"
)

// Command groups of the root help, in the order shown.
var commandGroups = []*cobra.Group{
	{ID: "images", Title: "Build and examine images:"},
	{ID: "trust", Title: "Sign, verify and scan images:"},
	{ID: "stacks", Title: "Run stacks on this host:"},
	{ID: "deploy", Title: "Deploy releases:"},
	{ID: "services", Title: "Run berth's services:"},
	{ID: "other", Title: "Other commands:"},
}

func newRootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:           "berth",
		Short:         "Immutable container infrastructure in one binary",
		Version:       buildinfo.Current(version).String(),
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetVersionTemplate("berth {{.Version}}\n")
	root.AddGroup(commandGroups...)
	add := func(group string, cmds ...*cobra.Command) {
		for _, c := range cmds {
			c.GroupID = group
			root.AddCommand(c)
		}
	}
	add("images", newBuildCommand(), newLockCommand(), newInspectCommand(), newDiffCommand(), newRebaseCommand(), newPromoteCommand(), newSbomCommand())
	add("trust", newKeyCommand(), newSignCommand(), newVerifyCommand(), newScanCommand(), newVulnDBCommand())
	add("stacks", newUpCommand(), newDownCommand(), newPsCommand(), newLogsCommand(), newExecCommand(), newStatsCommand(),
		newScaleCommand(), newConfigCommand(), newPullCommand(), newImagesCommand(), newRmiCommand(), newVolumeCommand(), newPruneCommand())
	add("deploy", newDeployCommand(), newRollbackCommand(), newHistoryCommand(), newShipCommand(), newExportCommand())
	add("services", newDaemonCommand(), newRegistryCommand(), newProxyCommand(), newShimCommand())
	add("other", newVersionCommand(), newManCommand())
	root.SetHelpCommandGroupID("other")
	root.SetCompletionCommandGroupID("other")
	root.InitDefaultCompletionCmd() // cobra adds it at Execute; here so it is grouped and strict too
	addHelp(root)
	cliflag.CompleteServiceArgs(root)
	cliflag.NameArrays(root)
	cliflag.StrictSubcommands(root)
	return root
}
