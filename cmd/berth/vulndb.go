package main

import (
	"io"

	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/internal/vuln"
)

func newVulnDBCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "vulndb",
		Short: "Manage the local vulnerability database berth scan reads",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(newVulnDBImportCommand(), newVulnDBStatusCommand())
	return cmd
}

func newVulnDBImportCommand() *cobra.Command {
	var dbFlag string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "import PATH...",
		Short: "Load OSV records from directories, .zip archives or .json files",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			path, err := trustCache().VulnDB(dbFlag)
			if err != nil {
				return err
			}
			res, err := vuln.Import(path, args)
			if err != nil {
				return err
			}
			return printResult(cmd.OutOrStdout(), asJSON, res, func(w io.Writer) { vuln.WriteImportText(w, path, res) })
		},
	}
	cmd.Flags().StringVar(&dbFlag, "db", "", "database file (default $BERTH_CACHE/vulndb.db)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the import counts as JSON")
	return cmd
}

func newVulnDBStatusCommand() *cobra.Command {
	var dbFlag string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show the database's record and package counts and when it was last imported",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			path, err := trustCache().VulnDB(dbFlag)
			if err != nil {
				return err
			}
			st, err := vuln.ReadStatus(path)
			if err != nil {
				return err
			}
			return printResult(cmd.OutOrStdout(), asJSON, st, func(w io.Writer) { vuln.WriteStatsText(w, path, st.Stats) })
		},
	}
	cmd.Flags().StringVar(&dbFlag, "db", "", "database file (default $BERTH_CACHE/vulndb.db)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print as JSON")
	return cmd
}
