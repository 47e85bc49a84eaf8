package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/internal/imageref"
	"github.com/berth-dev/berth/internal/inspect"
)

func newDiffCommand() *cobra.Command {
	var (
		flags  imageFlags
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "diff A B",
		Short: "Show the files and Debian packages that differ between two images",
		Long: `Diff flattens both images' layers (whiteouts and opaque directories applied)
and lists paths added (+), removed (-) and changed (~, with what changed:
type, content, mode, owner, link), then the Debian packages added, removed
or changed in version (from var/lib/dpkg/status and var/lib/dpkg/status.d/).
Modification times are not compared.

` + imageRefHelp,
		Example: `  # What a rebuild changed
  berth diff localhost:5000/app:1.2.3 localhost:5000/app:1.2.4

  # A local build against what is deployed, as JSON
  berth diff localhost:5000/app:prod oci-layout:./out:app --json`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			o, err := flags.options()
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
				return writeIndentedJSON(cmd.OutOrStdout(), r)
			}
			printDiff(cmd.OutOrStdout(), r)
			return nil
		},
	}
	flags.add(cmd)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the differences as JSON")
	return cmd
}

func changeMark(change string) string {
	switch change {
	case "added":
		return "+"
	case "removed":
		return "-"
	default:
		return "~"
	}
}

func printDiff(out io.Writer, r *inspect.DiffReport) {
	if len(r.Files) == 0 && len(r.Packages) == 0 {
		fmt.Fprintf(out, "no differences between %s and %s\n", r.From, r.To)
		return
	}
	for _, f := range r.Files {
		if f.Change == "changed" {
			fmt.Fprintf(out, "~ %s (%s)\n", f.Path, strings.Join(f.What, ", "))
		} else {
			fmt.Fprintf(out, "%s %s\n", changeMark(f.Change), f.Path)
		}
	}
	if len(r.Packages) > 0 {
		if len(r.Files) > 0 {
			fmt.Fprintln(out)
		}
		fmt.Fprintln(out, "Packages")
		for _, p := range r.Packages {
			switch p.Change {
			case "added":
				fmt.Fprintf(out, "+ %s %s\n", p.Name, p.To)
			case "removed":
				fmt.Fprintf(out, "- %s %s\n", p.Name, p.From)
			default:
				fmt.Fprintf(out, "~ %s %s → %s\n", p.Name, p.From, p.To)
			}
		}
	}
}
