package main

import (
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/internal/build"
	"github.com/berth-dev/berth/internal/imageref"
	"github.com/berth-dev/berth/internal/trust"
	"github.com/berth-dev/berth/internal/vuln"
)

// vulnDBPath is --db, else $BERTH_CACHE/vulndb.db (the build cache's
// directory: $BERTH_CACHE, $XDG_CACHE_HOME/berth or ~/.cache/berth).
func vulnDBPath(flag string) (string, error) {
	if flag != "" {
		return flag, nil
	}
	dir, err := build.CacheDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, vuln.DefaultDBName), nil
}

// sbomCacheDir is where image inventories are cached: the build writes
// them there when it makes the SBOMs it attaches ("" when there is no
// cache directory: every scan reads the image).
func sbomCacheDir() string {
	dir, err := build.CacheDir()
	if err != nil {
		return ""
	}
	return trust.SBOMCacheDir(dir)
}

// policyScanner is the max_severity check of environments' policy: the
// default vulnerability database (no database, or an empty one, refuses
// every image, saying how to import one) and berth scan's package lister.
func policyScanner(insecure bool) trust.Scanner {
	db, _ := vulnDBPath("") // no cache directory: no database, which refuses
	return trust.Scanner{DB: db, SBOMCache: sbomCacheDir(), Image: imageref.Options{Insecure: insecure}}
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
			path, err := vulnDBPath(dbFlag)
			if err != nil {
				return err
			}
			res, err := vuln.Import(path, args)
			if err != nil {
				return err
			}
			if asJSON {
				return writeIndentedJSON(cmd.OutOrStdout(), res)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: %d records read, %d added, %d updated, %d kept (newer in the database); %d records in total\n",
				path, res.Read, res.Added, res.Updated, res.Unchanged, res.Total)
			return nil
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
			path, err := vulnDBPath(dbFlag)
			if err != nil {
				return err
			}
			db, err := vuln.OpenDB(path)
			if err != nil {
				return err
			}
			defer db.Close()
			st, err := db.Stats()
			if err != nil {
				return err
			}
			if asJSON {
				return writeIndentedJSON(cmd.OutOrStdout(), struct {
					Path string `json:"path"`
					vuln.Stats
				}{path, st})
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: %d records for %d packages, last import %s\n", path, st.Records, st.Packages, st.Imported.Format("2006-01-02 15:04:05 MST"))
			return nil
		},
	}
	cmd.Flags().StringVar(&dbFlag, "db", "", "database file (default $BERTH_CACHE/vulndb.db)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print as JSON")
	return cmd
}
