package main

import (
	"io"

	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/internal/sign"
)

func newKeyCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "key",
		Short: "Manage signing keys (cosign-compatible)",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(newKeyGenerateCommand(), newKeyAgentCommand(), newKeyAddCommand(), newKeyListCommand())
	return cmd
}

func newKeyGenerateCommand() *cobra.Command {
	var (
		prefix string
		force  bool
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "generate [--output-key-prefix PREFIX]",
		Short: "Write a new key pair: PREFIX.key (encrypted) and PREFIX.pub",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			kp, err := sign.GenerateKeyPair(prefix, sign.Prompt{Out: cmd.ErrOrStderr()}, force)
			if err != nil {
				return err
			}
			return printResult(cmd.OutOrStdout(), asJSON, kp, func(w io.Writer) { sign.WriteKeyPairText(w, kp) })
		},
	}
	cmd.Flags().StringVar(&prefix, "output-key-prefix", "cosign", "write PREFIX.key and PREFIX.pub")
	cmd.Flags().BoolVar(&force, "force", false, "overwrite existing key files")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the written paths as JSON")
	return cmd
}
