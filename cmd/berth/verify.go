package main

import (
	"errors"
	"fmt"

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
			if len(keyPaths) == 0 {
				return fmt.Errorf("--key is required (a public key, e.g. cosign.pub)")
			}
			keys, err := sign.LoadPublicKeys(keyPaths)
			if err != nil {
				return err
			}
			ann, err := sign.ParseAnnotations(annotations)
			if err != nil {
				return fmt.Errorf("-a: %w", err)
			}
			o := sign.Options{Insecure: insecure}
			if cmd.Flags().Changed("attestations") || predicateType != "" {
				atts, err := sign.VerifyAttestations(cmd.Context(), args[0], keys, sign.PredicateTypeFromName(predicateType), o)
				if err != nil {
					return err
				}
				if asJSON {
					return writeIndentedJSON(cmd.OutOrStdout(), atts)
				}
				sign.WriteAttestationsText(cmd.OutOrStdout(), atts)
				fmt.Fprintln(cmd.ErrOrStderr(), sign.OfflineNote)
				return nil
			}
			res, err := sign.Verify(cmd.Context(), args[0], keys, sign.VerifyOptions{Options: o, Annotations: ann})
			var nv *sign.NotVerifiedError
			if errors.As(err, &nv) && asJSON {
				_ = writeIndentedJSON(cmd.OutOrStdout(), res)
			}
			if err != nil {
				return err
			}
			if asJSON {
				return writeIndentedJSON(cmd.OutOrStdout(), res)
			}
			sign.WriteVerifyText(cmd.OutOrStdout(), res)
			fmt.Fprintln(cmd.ErrOrStderr(), sign.OfflineNote)
			return nil
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
