package main

import (
	"io"

	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/internal/build"
	"github.com/berth-dev/berth/internal/trust"
	"github.com/berth-dev/berth/internal/vuln"
)

// trustCache is berth's cache directory, where the vulnerability database
// and the image inventories live.
func trustCache() trust.Cache {
	dir, err := build.CacheDir()
	return trust.Cache{Dir: dir, Err: err}
}

func newVulnDBCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "vulndb",
		Short: "Manage the local vulnerability database berth scan reads",
		Long: `berth scan works offline against a local database of OSV records (the format
of osv.dev, the Go vulnerability database and Debian's OSV exports). Import
them with "berth vulndb import"; "berth vulndb status" shows what is in it.

The database is $BERTH_CACHE/vulndb.db (else ~/.cache/berth/vulndb.db), or
--db FILE.`,
		Args: cobra.NoArgs,
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
		Long: `Import reads every OSV JSON record of each PATH — a directory tree (every
*.json below it), a .zip archive (as osv.dev exports each ecosystem:
https://osv-vulnerabilities.storage.googleapis.com/<ecosystem>/all.zip) or a
single .json file — and adds them to the database, indexed by (ecosystem,
package name).

Records already in the database are replaced when the imported one's
"modified" time is the same or newer; importing the same data twice changes
nothing. Every record is validated first: a malformed one stops the import
with an error naming the file and the field, and the database stays as it
was (the new one is written beside it and renamed into place).`,
		Example: `  # The Go vulnerability database (golang.org/x/vulndb's data/osv)
  berth vulndb import "$(go mod download -json golang.org/x/vulndb@latest | jq -r .Dir)/data/osv"

  # osv.dev's Debian export, downloaded elsewhere and carried over
  berth vulndb import Debian.zip

  # Your own advisories, into a database of your choosing
  berth vulndb import --db ./vulndb.db advisories/`,
		Args: cobra.MinimumNArgs(1),
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
		Use:     "status",
		Short:   "Show the database's record and package counts and when it was last imported",
		Example: `  berth vulndb status`,
		Args:    cobra.NoArgs,
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
