package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/internal/cliflag"
	"github.com/berth-dev/berth/internal/promote"
	"github.com/berth-dev/berth/internal/spec"
	"github.com/berth-dev/berth/internal/stack"
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
			image, id, err := parsePromoteImage(args[0], tag)
			if err != nil {
				return err
			}
			set, err := cliflag.ParseSet(sf.set)
			if err != nil {
				return err
			}
			f, err := spec.Load(sf.file, spec.LoadOptions{Set: set})
			if err != nil {
				return err
			}
			if _, ok := f.Images[image]; !ok {
				return fmt.Errorf("no image %q in %s's images: (known: %s)", image, sf.file, strings.Join(f.ImageOrder, ", "))
			}
			targets, err := stack.LoadTargets(sf.file, stack.LoadOptions{Set: set})
			if err != nil {
				return err
			}
			src, err := promote.EnvTarget(targets, from, "--from")
			if err != nil {
				return err
			}
			dst, err := promote.EnvTarget(targets, to, "--to")
			if err != nil {
				return err
			}
			dstID := id
			if strings.HasPrefix(id, "sha256:") && tag != "" {
				dstID = tag
			}
			res, err := promote.Promote(cmd.Context(), promote.Options{
				Src: src.Ref(image, id), Dst: dst.Ref(image, dstID), Insecure: insecure,
				Record: promote.Provenance{FromEnv: from, ToEnv: to},
			})
			if err != nil {
				return err
			}
			if asJSON {
				return writeIndentedJSON(cmd.OutOrStdout(), promoteOutput{Result: res, From: from, To: to})
			}
			fmt.Fprintln(cmd.OutOrStdout(), promoteSummary(src.Ref(image, id), res))
			return nil
		},
	}
	sf.add(cmd)
	cmd.Flags().StringVar(&from, "from", "", "environment to promote from (environments: NAME in berth.yaml)")
	cmd.Flags().StringVar(&to, "to", "", "environment to promote to")
	cmd.Flags().StringVar(&tag, "tag", "", `tag to promote, in the source and the target (default: the tag in IMAGE, else "latest"); with IMAGE@DIGEST: the target's tag`)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the result as JSON")
	cmd.Flags().BoolVar(&insecure, "insecure", false, "allow plain HTTP to registries (loopback registries always may)")
	return cmd
}

// promoteSummary is promote's line of output: every blob is counted once,
// as copied (uploaded), mounted or already there.
func promoteSummary(src string, res promote.Result) string {
	s := fmt.Sprintf("promoted %s → %s (%s): %d blobs copied (%s)", src, res.Dst, res.Digest, res.BlobsCopied, humanSize(res.BytesCopied))
	if res.BlobsMounted > 0 {
		s += fmt.Sprintf(", %d mounted", res.BlobsMounted)
	}
	return s + fmt.Sprintf(", %d already there; provenance recorded as %s", res.BlobsSkipped, res.Provenance)
}

// parsePromoteImage splits IMAGE[:TAG|@DIGEST]: see promote.ParseImageArg.
var parsePromoteImage = promote.ParseImageArg
