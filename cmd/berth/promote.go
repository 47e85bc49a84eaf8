package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/internal/cliflag"
	"github.com/berth-dev/berth/internal/promote"
)

// newPromoteCommand is `berth promote`: copy an image, by digest, from
// one environment's registry to another's.
func newPromoteCommand() *cobra.Command {
	var (
		sf     cliflag.Spec
		r      promote.Request
		asJSON bool
		pf     cliflag.Progress
	)
	cmd := &cobra.Command{
		Use:   "promote IMAGE[:TAG|@DIGEST] --from ENV --to ENV",
		Short: "Copy an image from one environment's registry to another's, unchanged",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			r.Arg, r.File = args[0], sf.File
			if err := r.Check(); err != nil {
				return err
			}
			var err error
			if r.Set, err = cliflag.ParseSet(sf.Set); err != nil {
				return err
			}
			pr, err := pf.Renderer(cmd.ErrOrStderr(), asJSON)
			if err != nil {
				return err
			}
			r.Progress, r.Policy = pr.Report, policyPorts(r.Insecure)
			src, res, err := promote.FromBerthfile(cmd.Context(), r)
			if err != nil {
				return err
			}
			return printResult(cmd.OutOrStdout(), asJSON, promote.Output{Result: res, From: r.From, To: r.To}, func(w io.Writer) {
				fmt.Fprintln(w, res.Summary(src, humanSize))
			})
		},
	}
	sf.Add(cmd.Flags())
	cmd.Flags().StringVar(&r.From, "from", "", "environment to promote from (environments: NAME in berth.yaml)")
	cmd.Flags().StringVar(&r.To, "to", "", "environment to promote to")
	cmd.Flags().StringVar(&r.Tag, "tag", "", `tag to promote, in the source and the target (default: the tag in IMAGE, else "latest"); with IMAGE@DIGEST: the target's tag`)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the result as JSON")
	cmd.Flags().BoolVar(&r.Insecure, "insecure", false, "allow plain HTTP to registries (loopback registries always may)")
	pf.Add(cmd.Flags())
	return cmd
}
