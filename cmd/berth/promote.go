package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/internal/cliflag"
	"github.com/berth-dev/berth/internal/promote"
)

// promoteOutput is `berth promote --json`.
type promoteOutput struct {
	promote.Result
	From string `json:"from"`
	To   string `json:"to"`
}

// newPromoteCommand is `berth promote`: copy an image, by digest, from
// one environment's registry to another's.
func newPromoteCommand() *cobra.Command {
	var (
		sf               cliflag.Spec
		from, to, tag    string
		asJSON, insecure bool
		pf               cliflag.Progress
	)
	cmd := &cobra.Command{
		Use:   "promote IMAGE[:TAG|@DIGEST] --from ENV --to ENV",
		Short: "Copy an image from one environment's registry to another's, unchanged",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if from == "" || to == "" {
				return errors.New("--from ENV and --to ENV are required")
			}
			if from == to {
				return fmt.Errorf("--from and --to are both %q; promote copies between two environments", from)
			}
			if _, _, err := parsePromoteImage(args[0], tag); err != nil {
				return err
			}
			set, err := cliflag.ParseSet(sf.Set)
			if err != nil {
				return err
			}
			pr, err := pf.Renderer(cmd.ErrOrStderr(), asJSON)
			if err != nil {
				return err
			}
			src, res, err := promote.FromBerthfile(cmd.Context(), promote.Request{
				File: sf.File, Set: set, Arg: args[0], Tag: tag, From: from, To: to, Insecure: insecure, Progress: pr.Report,
				Policy: policyPorts(insecure),
			})
			if err != nil {
				return err
			}
			return printResult(cmd.OutOrStdout(), asJSON, promoteOutput{Result: res, From: from, To: to}, func(w io.Writer) {
				fmt.Fprintln(w, res.Summary(src, humanSize))
			})
		},
	}
	sf.Add(cmd.Flags())
	cmd.Flags().StringVar(&from, "from", "", "environment to promote from (environments: NAME in berth.yaml)")
	cmd.Flags().StringVar(&to, "to", "", "environment to promote to")
	cmd.Flags().StringVar(&tag, "tag", "", `tag to promote, in the source and the target (default: the tag in IMAGE, else "latest"); with IMAGE@DIGEST: the target's tag`)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the result as JSON")
	cmd.Flags().BoolVar(&insecure, "insecure", false, "allow plain HTTP to registries (loopback registries always may)")
	pf.Add(cmd.Flags())
	return cmd
}

// parsePromoteImage splits IMAGE[:TAG|@DIGEST]: see promote.ParseImageArg.
var parsePromoteImage = promote.ParseImageArg
