package main

import (
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/internal/daemon"
	"github.com/berth-dev/berth/internal/engine/api"
	"github.com/berth-dev/berth/internal/logging"
)

func newDaemonCommand() *cobra.Command {
	var o daemon.Options
	cmd := &cobra.Command{
		Use:   "daemon",
		Short: "Run the engine: containers on runc and CNI, with an API on a unix socket",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			o.Version = version
			o.Log = logging.New("info")
			return daemon.Run(ctx, o)
		},
	}
	cmd.Flags().StringVar(&o.Root, "root", "/var/lib/berth", "directory for images, containers, volumes and networks")
	cmd.Flags().StringVar(&o.Socket, "socket", api.DefaultSocket, "unix socket for the API")
	cmd.Flags().StringVar(&o.RunDir, "run-dir", "/run/berth", "runtime state: network namespaces, runc state")
	// Hidden: the Debian package's plugin directories are the default;
	// tests point it elsewhere to check a missing plugin is reported.
	cmd.Flags().StringSliceVar(&o.CNIPath, "cni-path", nil, "directories holding the CNI plugins (default /usr/lib/cni, /opt/cni/bin)")
	_ = cmd.Flags().MarkHidden("cni-path")
	cmd.Flags().StringVar(&o.ACME.Directory, "acme-directory", "", "ACME directory URL for x-berth-proxy tls: auto, e.g. https://acme-v02.api.letsencrypt.org/directory")
	cmd.Flags().StringVar(&o.ACME.Email, "acme-email", "", "contact address of the ACME account")
	cmd.Flags().StringVar(&o.ACME.CARootsFile, "acme-ca-roots", "", "PEM file of the roots trusted for the ACME directory's HTTPS (a private CA)")
	cmd.Flags().IntVar(&o.ACME.HTTPPort, "acme-http-port", 0, "port the CA validates HTTP-01 challenges on (default 80)")
	cmd.Flags().StringVar(&o.ACME.Challenge, "acme-challenge", "", "how the CA validates hosts: http-01 (default, on --acme-http-port) or tls-alpn-01 (on the HTTPS port, 443)")
	cmd.Flags().DurationVar(&o.ACME.RenewBefore, "acme-renew-before", 0, "renew certificates with this much left (default 720h, at most half their lifetime)")
	cmd.Flags().StringVar(&o.ProxyMetrics, "proxy-metrics", "", "serve the proxy's Prometheus metrics on this address (e.g. 127.0.0.1:9100)")
	cmd.Flags().StringVar(&o.Console.Addr, "console", "", "serve the web console on this address (e.g. 127.0.0.1:9090; off when empty)")
	cmd.Flags().StringVar(&o.Console.Users, "console-users", "", "the console's users: an htpasswd file of bcrypt hashes (htpasswd -B); without it the daemon logs a one-time login token")
	cmd.Flags().BoolVar(&o.Console.AnonymousRead, "console-anonymous-read", false, "let the console's pages, live streams and logs be read without a login (actions still need one)")
	return cmd
}
