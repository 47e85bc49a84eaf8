package registry

import "time"

// Flags are berth registry serve's and gc's flags over the configuration
// file: each flag given on the command line replaces the file's value.
type Flags struct {
	ConfigFile           string        // --config
	Root                 string        // --root
	Addr                 string        // --addr (serve)
	AllowSparseManifests bool          // --allow-sparse-manifests (serve)
	Grace                time.Duration // --grace (gc): also the upload expiry
	DeleteUntagged       bool          // --delete-untagged (gc)
	Console              ConsoleConfig // --console, --console-users (serve)
}

// Resolve is the configuration the command runs with: ResolveConfig of
// --config with checker, --root and --addr (so validation sees them),
// then the other flags given. changed reports whether a flag (by its
// name) was given.
func (f *Flags) Resolve(changed func(flag string) bool, checker SignatureChecker) (Config, error) {
	cfg, err := ResolveConfig(f.ConfigFile, func(cfg *Config) {
		cfg.SignatureChecker = checker
		if changed("root") {
			cfg.Root = f.Root
		}
		if changed("addr") {
			cfg.Addr = f.Addr
		}
	})
	if err != nil {
		return cfg, err
	}
	if changed("allow-sparse-manifests") {
		cfg.AllowSparseManifests = f.AllowSparseManifests
	}
	if changed("grace") {
		cfg.GC.Grace = Duration(f.Grace)
		cfg.UploadExpiry = Duration(f.Grace)
	}
	if changed("delete-untagged") {
		cfg.GC.DeleteUntagged = f.DeleteUntagged
	}
	cfg.Console = f.Console
	return cfg, nil
}
