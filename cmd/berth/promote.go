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
		sf               specFlags
		from, to, tag    string
		asJSON, insecure bool
		pf               cliflag.Progress
	)
	cmd := &cobra.Command{
		Use:   "promote IMAGE[:TAG|@DIGEST] --from ENV --to ENV",
		Short: "Copy an image from one environment's registry to another's, unchanged",
		Long: `promote copies IMAGE (a name of berth.yaml's images:) from the registry of
environment --from to the registry of environment --to (environments:
NAME: {registry: HOST[:PORT], repository: PREFIX}). The image lives at
REGISTRY/REPOSITORY/IMAGE in each.

Nothing is rebuilt: the manifest is copied byte for byte, so the digest in
the target is the digest tested in the source, and only the blobs the target
does not have yet are sent (within one registry they are mounted). The
promotion is recorded in the target repository as an OCI referrer of the
image (artifact type ` + promote.ArtifactType + `): digest,
from, to, time and host.

The tag is --tag, else the one in IMAGE, else "latest": it names both the
source image and the target tag (--tag wins over IMAGE's tag; it does not
rename). IMAGE@sha256:... promotes that digest; the target is then tagged
only with --tag (without it, it receives the digest untagged).`,
		Example: `  # Promote app:1.2.0 from staging to prod
  berth promote app:1.2.0 --from staging --to prod

  # The same, naming the tag with a flag, as JSON
  berth promote app --tag 1.2.0 --from staging --to prod --json

  # Promote exactly the digest that was tested, and tag it 1.2.0 in prod
  berth promote app@sha256:3f1c... --from staging --to prod --tag 1.2.0`,
		Args: cobra.ExactArgs(1),
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
			set, err := cliflag.ParseSet(sf.set)
			if err != nil {
				return err
			}
			pr, err := pf.Renderer(cmd.ErrOrStderr(), asJSON)
			if err != nil {
				return err
			}
			src, res, err := promote.FromBerthfile(cmd.Context(), promote.Request{
				File: sf.file, Set: set, Arg: args[0], Tag: tag, From: from, To: to, Insecure: insecure, Progress: pr.Report,
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
	sf.add(cmd)
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
