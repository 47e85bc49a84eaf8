package main

import (
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
			return sign.RunSign(cmd.Context(), sign.SignRequest{
				Image: args[0], KeyPath: keyPath, Prompt: sign.Prompt{Out: cmd.ErrOrStderr()}, Format: format,
				Annotations: annotations, Options: sign.Options{Insecure: insecure},
			}, cmd.OutOrStdout(), asJSON)
		},
	}
	cmd.Flags().StringVar(&keyPath, "key", "", "cosign private key file (required)")
	cmd.Flags().StringVar(&format, "format", "bundle", "signature format: bundle or legacy")
	cmd.Flags().StringArrayVarP(&annotations, "annotation", "a", nil, "sign this `KEY=VALUE` annotation with the image (repeatable)")
	cmd.Flags().BoolVar(&insecure, "insecure", false, "allow plain HTTP to registries (loopback registries always may)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the result as JSON")
	return cmd
}
