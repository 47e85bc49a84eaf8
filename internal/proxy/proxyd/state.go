package proxyd

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"github.com/berth-dev/berth/internal/atomicfile"
	"github.com/berth-dev/berth/internal/proxy"
)

// The state file holds the last Config the proxy applied, so a proxy
// process started again (after a crash, a kill -9 or a host reboot) serves
// the same ports at once, before any daemon pushes its config.

// LoadState reads the Config saved at path. A missing file is no error:
// found is false and the Config empty.
func LoadState(path string) (cfg proxy.Config, found bool, err error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return proxy.Config{}, false, nil
	}
	if err != nil {
		return proxy.Config{}, false, fmt.Errorf("proxy state: %w", err)
	}
	cfg, err = decodeConfig(b)
	if err != nil {
		return proxy.Config{}, false, fmt.Errorf("proxy state %s: %w", path, err)
	}
	return cfg, true, nil
}

// SaveState replaces the file at path with cfg, crash-safely: after a crash
// the file holds either the previous Config or this one, whole.
func SaveState(path string, cfg proxy.Config) error {
	b, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return fmt.Errorf("proxy state: %w", err)
	}
	if err := atomicfile.Write(path, append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("proxy state: %w", err)
	}
	return nil
}

// decodeConfig parses a Config strictly: an unknown field means the daemon
// and the proxy disagree about the format (e.g. a proxy left running from
// an older berth), which must not pass silently.
func decodeConfig(b []byte) (proxy.Config, error) {
	var cfg proxy.Config
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&cfg); err != nil {
		return proxy.Config{}, fmt.Errorf("config JSON: %w", err)
	}
	if dec.More() {
		return proxy.Config{}, errors.New("config JSON: trailing data after the object")
	}
	return cfg, nil
}
