package main

import (
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/internal/keyagent"
	"github.com/berth-dev/berth/internal/sign"
)

func newKeyAgentCommand() *cobra.Command {
	var socket string
	cmd := &cobra.Command{
		Use:   "agent [--socket PATH]",
		Short: "Hold decrypted signing keys so signing needs no password (like ssh-agent)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return keyagent.Run(ctx, socket, cmd.OutOrStdout())
		},
	}
	cmd.Flags().StringVar(&socket, "socket", "", "socket path (default $BERTH_KEY_AGENT, else berth-key-agent-UID/agent.sock in the temp dir)")
	return cmd
}

func newKeyAddCommand() *cobra.Command {
	var ttl time.Duration
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "add KEYFILE [--ttl DURATION]",
		Short: "Decrypt a cosign key once and load it into the key agent",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := sign.Prompt{Out: cmd.ErrOrStderr()}.AddToAgent(cmd.Context(), args[0], ttl)
			if err != nil {
				return err
			}
			return printResult(cmd.OutOrStdout(), asJSON, e, func(w io.Writer) { keyagent.WriteEntries(w, []keyagent.Entry{e}) })
		},
	}
	cmd.Flags().DurationVar(&ttl, "ttl", 0, "drop the key after this long (0: keep it until the agent stops)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the loaded key as JSON")
	return cmd
}

func newKeyListCommand() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the keys the key agent holds",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			keys, err := keyagent.ListFromEnv(cmd.Context(), os.LookupEnv)
			if err != nil {
				return err
			}
			return printResult(cmd.OutOrStdout(), asJSON, keys, func(w io.Writer) { keyagent.WriteEntries(w, keys) })
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the keys as JSON")
	return cmd
}
