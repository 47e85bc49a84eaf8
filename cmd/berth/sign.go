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
		Args:  cobra.ExactArgs(1),
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
