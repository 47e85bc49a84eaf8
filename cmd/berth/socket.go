package main

import (
	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/internal/engine/api"
)

// addSocketFlag registers --socket, the daemon's API socket, on a command
// that talks to the daemon; "" means $BERTH_SOCKET, else api.DefaultSocket
// (api.NewClient resolves it).
func addSocketFlag(cmd *cobra.Command, socket *string) {
	cmd.Flags().StringVar(socket, "socket", "", "daemon socket (default $BERTH_SOCKET or "+api.DefaultSocket+")")
}
