package main

import (
	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/internal/sign"
)

func newVerifyCommand() *cobra.Command {
	var (
		keyPaths      []string
		annotations   []string
		predicateType string
		insecure      bool
		asJSON        bool
	)
	cmd := &cobra.Command{
		Use:   "verify IMAGE[:TAG|@DIGEST] --key cosign.pub",
		Short: "Verify an image's signatures (cosign bundle and legacy formats) offline",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return sign.RunVerify(cmd.Context(), sign.VerifyRequest{
				Image: args[0], KeyPaths: keyPaths, Annotations: annotations, PredicateType: predicateType,
				Attestations: cmd.Flags().Changed("attestations"), Options: sign.Options{Insecure: insecure},
			}, cmd.OutOrStdout(), cmd.ErrOrStderr(), asJSON)
		},
	}
	cmd.Flags().StringArrayVar(&keyPaths, "key", nil, "public key `FILE` (cosign.pub); repeat for several")
	cmd.Flags().StringArrayVarP(&annotations, "annotation", "a", nil, "require this `KEY=VALUE` annotation (repeatable)")
	cmd.Flags().Bool("attestations", false, "verify signed attestations instead of signatures")
	cmd.Flags().StringVar(&predicateType, "type", "", "with --attestations: only this predicate type (URI, or spdxjson, cyclonedx, slsaprovenance1, …)")
	cmd.Flags().BoolVar(&insecure, "insecure", false, "allow plain HTTP to registries (loopback registries always may)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the result as JSON")
	return cmd
}
