package main

import (
	"context"
	"time"

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

// registryFlags are the flags serve and gc share.
type registryFlags struct {
	configFile string
	addr       string
	root       string
}

func (f *registryFlags) add(cmd *cobra.Command, withAddr bool) {
	cmd.Flags().StringVar(&f.configFile, "config", "", "registry configuration file (berth-registry.yaml)")
	cmd.Flags().StringVar(&f.root, "root", "", "directory holding the registry's data (default /var/lib/berth/registry)")
	if withAddr {
		cmd.Flags().StringVar(&f.addr, "addr", "", "address to listen on (default 127.0.0.1:5000)")
	}
}

// load builds the configuration: defaults, then the file, then flags.
func (f *registryFlags) load(cmd *cobra.Command) (registry.Config, error) {
	return registry.ResolveConfig(f.configFile, func(cfg *registry.Config) {
		cfg.SignatureChecker = trust.RegistryChecker{}
		if cmd.Flags().Changed("root") {
			cfg.Root = f.root
		}
		if cmd.Flags().Changed("addr") {
			cfg.Addr = f.addr
		}
	})
}

func newRegistryServeCommand() *cobra.Command {
	var f registryFlags
	var debugAddr string
	var allowSparse bool
	var consoleCfg registry.ConsoleConfig
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the registry over HTTP(S)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := f.load(cmd)
			if err != nil {
				return err
			}
			if cmd.Flags().Changed("allow-sparse-manifests") {
				cfg.AllowSparseManifests = allowSparse
			}
			if debugAddr != "" {
				go registry.ServeDebug(debugAddr)
			}
			cfg.Console = consoleCfg
			return serveRegistry(cmd.Context(), cfg)
		},
	}
	f.add(cmd, true)
	cmd.Flags().BoolVar(&allowSparse, "allow-sparse-manifests", false,
		"accept manifests whose blobs or child manifests are not in the repository (partial mirrors of multi-platform images); overrides allowSparseManifests in the file")
	cmd.Flags().StringVar(&debugAddr, "debug-addr", "", "serve Go's pprof profiles on this address (e.g. 127.0.0.1:6060); keep it on loopback")
	cmd.Flags().StringVar(&consoleCfg.Addr, "console", "", "serve the web console (repositories, tags, referrers) on this address (e.g. 127.0.0.1:9091; off when empty)")
	cmd.Flags().StringVar(&consoleCfg.Users, "console-users", "", "the console's users: an htpasswd file of bcrypt hashes (htpasswd -B); without it a one-time login token is logged")
	return cmd
}

// serveRegistry serves cfg until ctx ends or SIGTERM/SIGINT.
func serveRegistry(ctx context.Context, cfg registry.Config) error {
	return registry.Serve(ctx, cfg, logging.New(cfg.Log.Level))
}

func newRegistryGCCommand() *cobra.Command {
	var f registryFlags
	var dryRun, asJSON, deleteUntagged bool
	var grace time.Duration
	cmd := &cobra.Command{
		Use:   "gc",
		Short: "Remove unreferenced blobs (and untagged manifests) from a registry root",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := f.load(cmd)
			if err != nil {
				return err
			}
			if cmd.Flags().Changed("grace") {
				cfg.GC.Grace = registry.Duration(grace)
				cfg.UploadExpiry = registry.Duration(grace)
			}
			if cmd.Flags().Changed("delete-untagged") {
				cfg.GC.DeleteUntagged = deleteUntagged
			}
			rep, err := registry.CollectOffline(cmd.Context(), cfg, dryRun, logging.New(cfg.Log.Level))
			if err != nil {
				return err
			}
			return printResult(cmd.OutOrStdout(), asJSON, rep, rep.WriteText)
		},
	}
	f.add(cmd, false)
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "report what would be removed, remove nothing")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the report as JSON")
	cmd.Flags().BoolVar(&deleteUntagged, "delete-untagged", false, "also remove manifests that no tag, index or live subject keeps")
	cmd.Flags().DurationVar(&grace, "grace", 0, "keep blobs, manifests and uploads younger than this (default from config: 2h)")
	return cmd
}
