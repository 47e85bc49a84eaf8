package main

import (
	"context"
	"fmt"
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
		Long: `agent serves a unix socket (mode 0600 in a 0700 directory; only this user and
root may connect) and holds the keys berth key add loads, in memory only,
until their --ttl ends or the agent stops. berth sign, ship, build --key and
scan --attest with $BERTH_KEY_AGENT set sign through it when it holds the
key file they are given: no password and no key derivation per command.

It prints the shell line that points later commands at it, then serves in
the foreground until interrupted.`,
		Example: `  export BERTH_KEY_AGENT=$RUNNER_TEMP/berth-agent/agent.sock
  berth key agent &
  berth key add cosign.key --ttl 1h      # the password, once
  berth sign 127.0.0.1:5000/team/app:1.2.4 --key cosign.key`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if socket == "" {
				socket = keyagent.DefaultSocket(os.LookupEnv)
			}
			l, err := keyagent.Listen(socket)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s=%s; export %s\n", keyagent.EnvSocket, socket, keyagent.EnvSocket)
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return keyagent.New().Serve(ctx, l)
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
		Long: `add decrypts KEYFILE (password from $BERTH_PASSWORD, $COSIGN_PASSWORD or a
prompt) and loads it into the agent at $BERTH_KEY_AGENT, named by the
file's content: commands given the same file then sign through the agent.
It waits up to 5 s for an agent just started.`,
		Example: `  berth key add cosign.key --ttl 8h`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			p := sign.Prompt{Out: cmd.ErrOrStderr(), Agent: keyagent.FromEnv(os.LookupEnv)}
			if p.Agent != nil {
				ctx, cancel := context.WithTimeout(cmd.Context(), 5*time.Second)
				err := p.Agent.WaitReady(ctx)
				cancel()
				if err != nil {
					return err
				}
			}
			e, err := p.AddToAgent(cmd.Context(), args[0], ttl)
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
			c := keyagent.FromEnv(os.LookupEnv)
			if c == nil {
				return fmt.Errorf("no key agent: set %s to the socket berth key agent prints", keyagent.EnvSocket)
			}
			keys, err := c.List(cmd.Context())
			if err != nil {
				return err
			}
			return printResult(cmd.OutOrStdout(), asJSON, keys, func(w io.Writer) { keyagent.WriteEntries(w, keys) })
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the keys as JSON")
	return cmd
}
