package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/internal/cliflag"
	"github.com/berth-dev/berth/internal/imageref"
	"github.com/berth-dev/berth/internal/inspect"
	"github.com/berth-dev/berth/internal/sign"
)

func newInspectCommand() *cobra.Command {
	var (
		flags  cliflag.Image
		asJSON bool
		top    int
	)
	cmd := &cobra.Command{
		Use:   "inspect IMAGE",
		Short: "Show an image's layers, sizes, efficiency and configuration",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o, err := flags.Options()
			if err != nil {
				return err
			}
			topOpts, err := inspect.TopOptions(top)
			if err != nil {
				return err
			}
			img, err := imageref.Load(cmd.Context(), args[0], o)
			if err != nil {
				return err
			}
			r, err := inspect.InspectWith(img, topOpts)
			if err != nil {
				return fmt.Errorf("inspecting %s: %w", args[0], err)
			}
			r.Referrers = referrers(cmd, args[0], o)
			return printResult(cmd.OutOrStdout(), asJSON, r, func(w io.Writer) { inspect.WriteReport(w, args[0], r) })
		},
	}
	flags.Add(cmd.Flags())
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the report as JSON")
	cmd.Flags().IntVar(&top, "top", inspect.DefaultTop, "how many largest files and wasted paths to list")
	return cmd
}

// referrers lists what refers to a registry image (none for local
// images; a registry that cannot list them is said on stderr).
func referrers(cmd *cobra.Command, ref string, o imageref.Options) []inspect.Referrer {
	if imageref.IsLocal(ref) {
		return nil
	}
	_, descs, err := imageref.Referrers(cmd.Context(), ref, o)
	if err != nil {
		fmt.Fprintf(cmd.ErrOrStderr(), "warning: %v\n", err)
		return nil
	}
	return inspect.ReferrersOf(descs, sign.ReferrerPredicateType)
}

// humanSize formats sizes as docker images does; see inspect.HumanSize.
var humanSize = inspect.HumanSize

var shortDigest = inspect.ShortDigest
