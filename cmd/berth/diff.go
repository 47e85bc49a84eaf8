package main

import (
	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/internal/cliflag"
	"github.com/berth-dev/berth/internal/imageref"
	"github.com/berth-dev/berth/internal/inspect"
)

func newDiffCommand() *cobra.Command {
	var (
		flags    cliflag.Image
		asJSON   bool
		exitCode bool
	)
	cmd := &cobra.Command{
		Use:   "diff A B",
		Short: "Show the files, Debian packages and configuration that differ between two images",
		Long: `Diff flattens both images' layers (whiteouts and opaque directories applied)
and lists paths added (+), removed (-) and changed (~, with what changed:
type, content, mode, owner, link), then the Debian packages added, removed
or changed in version (from var/lib/dpkg/status and var/lib/dpkg/status.d/),
then the configuration settings that differ (platform, entrypoint, cmd, env,
user, workdir, ports, volumes, labels, stop signal, health check, shell).
Modification times, history and creation dates are not compared.

With --exit-code, diff exits 1 when the images differ and 0 when they do
not, as git diff --exit-code does.

` + imageRefHelp,
		Example: `  # What a rebuild changed
  berth diff localhost:5000/app:1.2.3 localhost:5000/app:1.2.4

  # A local build against what is deployed, as JSON
  berth diff localhost:5000/app:prod oci-layout:./out:app --json

  # In a script: did anything change?
  berth diff --exit-code localhost:5000/app:prod oci-layout:./out:app >/dev/null || echo changed`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			o, err := flags.Options()
			if err != nil {
				return err
			}
			a, err := imageref.Load(cmd.Context(), args[0], o)
			if err != nil {
				return err
			}
			b, err := imageref.Load(cmd.Context(), args[1], o)
			if err != nil {
				return err
			}
			r, err := inspect.Diff(a, b)
			if err != nil {
				return err
			}
			if asJSON {
				err = writeIndentedJSON(cmd.OutOrStdout(), r)
			} else {
				inspect.WriteDiff(cmd.OutOrStdout(), r)
			}
			if err == nil && exitCode && !r.Empty() {
				return exitStatus(1)
			}
			return err
		},
	}
	flags.Add(cmd.Flags())
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the differences as JSON")
	cmd.Flags().BoolVar(&exitCode, "exit-code", false, "exit 1 when the images differ, 0 when they do not")
	return cmd
}
