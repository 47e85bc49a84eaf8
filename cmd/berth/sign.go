package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/internal/sign"
)

func newSignCommand() *cobra.Command {
	var (
		keyPath     string
		format      string
		annotations []string
		insecure    bool
		asJSON      bool
	)
	cmd := &cobra.Command{
		Use:   "sign IMAGE[:TAG|@DIGEST] --key cosign.key",
		Short: "Sign an image in a registry, by digest, the way cosign does",
		Long: `Sign resolves IMAGE to its manifest digest once and signs that digest with a
cosign key (see berth key generate; keys cosign wrote work too). Nothing
goes to a transparency log or certificate authority: the signature is
verified with the public key alone (berth verify, or cosign verify --key
cosign.pub --insecure-ignore-tlog=true).

Formats:
  bundle (default)  a sigstore bundle (v0.3) holding an in-toto statement in a
                    DSSE envelope, attached as an OCI referrer of the image
                    (registries without the referrers API get cosign's
                    sha256-<hex> tag index instead)
  legacy            cosign's simplesigning payload as a layer of the
                    <repo>:sha256-<hex>.sig manifest; signatures accumulate

-a KEY=VALUE annotations are signed with the image (legacy: the payload's
"optional"; bundle: the statement's predicate) and can be required at verify.
The key's password comes from $BERTH_PASSWORD, $COSIGN_PASSWORD or a prompt.`,
		Example: `  # Sign the image a tag names now (the signature is for its digest)
  berth sign 127.0.0.1:5000/team/app:1.2.4 --key cosign.key

  # cosign v2's classic .sig format, with an annotation
  berth sign 127.0.0.1:5000/team/app@sha256:3f1c… --key cosign.key --format legacy -a env=prod`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if keyPath == "" {
				return fmt.Errorf("--key is required (a cosign private key; berth key generate makes one)")
			}
			f, err := sign.ParseFormat(format)
			if err != nil {
				return fmt.Errorf("--format: %w", err)
			}
			ann, err := sign.ParseAnnotations(annotations)
			if err != nil {
				return fmt.Errorf("-a: %w", err)
			}
			k, err := sign.Prompt{Out: cmd.ErrOrStderr()}.PrivateKey(keyPath)
			if err != nil {
				return err
			}
			res, err := sign.Sign(cmd.Context(), args[0], k, sign.SignOptions{
				Options: sign.Options{Insecure: insecure}, Format: f, Annotations: ann,
			})
			if err != nil {
				return err
			}
			return printResult(cmd.OutOrStdout(), asJSON, res, func(w io.Writer) { sign.WriteSignText(w, res) })
		},
	}
	cmd.Flags().StringVar(&keyPath, "key", "", "cosign private key file (required)")
	cmd.Flags().StringVar(&format, "format", "bundle", "signature format: bundle or legacy")
	cmd.Flags().StringArrayVarP(&annotations, "annotation", "a", nil, "sign this `KEY=VALUE` annotation with the image (repeatable)")
	cmd.Flags().BoolVar(&insecure, "insecure", false, "allow plain HTTP to registries (loopback registries always may)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the result as JSON")
	return cmd
}
