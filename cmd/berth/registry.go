package main

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/internal/logging"
	"github.com/berth-dev/berth/internal/registry"
	"github.com/berth-dev/berth/internal/trust"
)

func newRegistryCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "registry",
		Short: "Run and maintain berth's private OCI registry",
	}
	cmd.AddCommand(newRegistryServeCommand(), newRegistryGCCommand())
	return cmd
}

// addRegistryFlags registers the flags serve and gc share.
func addRegistryFlags(cmd *cobra.Command, f *registry.Flags, withAddr bool) {
	cmd.Flags().StringVar(&f.ConfigFile, "config", "", "registry configuration file (berth-registry.yaml)")
	cmd.Flags().StringVar(&f.Root, "root", "", "directory holding the registry's data (default /var/lib/berth/registry)")
	if withAddr {
		cmd.Flags().StringVar(&f.Addr, "addr", "", "address to listen on (default 127.0.0.1:5000)")
	}
}

// registryConfig is f's configuration, with berth's signature checker.
func registryConfig(cmd *cobra.Command, f *registry.Flags) (registry.Config, error) {
	return f.Resolve(cmd.Flags().Changed, trust.RegistryChecker{})
}

func newRegistryServeCommand() *cobra.Command {
	var f registry.Flags
	var debugAddr string
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the registry over HTTP(S)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := registryConfig(cmd, &f)
			if err != nil {
				return err
			}
			if debugAddr != "" {
				go registry.ServeDebug(debugAddr)
			}
			return serveRegistry(cmd.Context(), cfg)
		},
	}
	addRegistryFlags(cmd, &f, true)
	cmd.Flags().BoolVar(&f.AllowSparseManifests, "allow-sparse-manifests", false,
		"accept manifests whose blobs or child manifests are not in the repository (partial mirrors of multi-platform images); overrides allowSparseManifests in the file")
	cmd.Flags().StringVar(&debugAddr, "debug-addr", "", "serve Go's pprof profiles on this address (e.g. 127.0.0.1:6060); keep it on loopback")
	cmd.Flags().StringVar(&f.Console.Addr, "console", "", "serve the web console (repositories, tags, referrers) on this address (e.g. 127.0.0.1:9091; off when empty)")
	cmd.Flags().StringVar(&f.Console.Users, "console-users", "", "the console's users: an htpasswd file of bcrypt hashes (htpasswd -B); without it a one-time login token is logged")
	cmd.Flags().BoolVar(&f.Console.AnonymousRead, "console-anonymous-read", false, "let the console's pages be read without a login (deleting still needs one)")
	return cmd
}

// serveRegistry serves cfg until ctx ends or SIGTERM/SIGINT.
func serveRegistry(ctx context.Context, cfg registry.Config) error {
	return registry.Serve(ctx, cfg, logging.New(cfg.Log.Level))
}

func newRegistryGCCommand() *cobra.Command {
	var f registry.Flags
	var dryRun, asJSON bool
	cmd := &cobra.Command{
		Use:   "gc",
		Short: "Remove unreferenced blobs (and untagged manifests) from a registry root",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := registryConfig(cmd, &f)
			if err != nil {
				return err
			}
			rep, err := registry.CollectOffline(cmd.Context(), cfg, dryRun, logging.New(cfg.Log.Level))
			if err != nil {
				return err
			}
			return printResult(cmd.OutOrStdout(), asJSON, rep, rep.WriteText)
		},
	}
	addRegistryFlags(cmd, &f, false)
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "report what would be removed, remove nothing")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the report as JSON")
	cmd.Flags().BoolVar(&f.DeleteUntagged, "delete-untagged", false, "also remove manifests that no tag, index or live subject keeps")
	cmd.Flags().DurationVar(&f.Grace, "grace", 0, "keep blobs, manifests and uploads younger than this (default from config: 2h)")
	return cmd
}
