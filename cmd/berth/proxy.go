package main

import (
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/internal/logging"
	"github.com/berth-dev/berth/internal/proxy/proxyd"
)

// newProxyCommand is the reverse proxy process the daemon starts detached
// (proxyd.Ensure) and configures over its socket. It is internal, hence
// hidden; it runs apart from the daemon so published ports keep answering
// while the daemon restarts.
func newProxyCommand() *cobra.Command {
	var o proxyd.RunOptions
	cmd := &cobra.Command{
		Use:    "proxy --socket PATH --state FILE [--metrics ADDR]",
		Short:  "Run the reverse proxy for published ports (started by the daemon)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			o.Log = logging.New("info")
			return proxyd.Run(ctx, o)
		},
	}
	cmd.Flags().StringVar(&o.Socket, "socket", "/run/berth/proxy.sock", "unix socket for the API (mode 0600)")
	cmd.Flags().StringVar(&o.State, "state", "/var/lib/berth/proxy/state.json", "file keeping the last applied config")
	cmd.Flags().StringVar(&o.Metrics, "metrics", "", "also serve /metrics on this TCP address, e.g. 127.0.0.1:9100")
	cmd.Flags().BoolVar(&o.Takeover, "takeover", false, "replace the proxy serving --socket (an upgrade: it gets SIGTERM once this one answers)")
	return cmd
}
