package registry

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"time"

	"go.yaml.in/yaml/v4"

	"github.com/berth-dev/berth/internal/registry/auth"
)

// Duration is a time.Duration that reads from YAML/JSON as "90s", "2h".
type Duration time.Duration

// UnmarshalJSON accepts a Go duration string or a number of seconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		v, err := time.ParseDuration(s)
		if err != nil {
			return fmt.Errorf("invalid duration %q: %w", s, err)
		}
		*d = Duration(v)
		return nil
	}
	var secs float64
	if err := json.Unmarshal(b, &secs); err != nil {
		return fmt.Errorf("invalid duration %s: want a string like \"90s\"", b)
	}
	*d = Duration(secs * float64(time.Second))
	return nil
}

// MarshalJSON writes the duration as a string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// Config is the registry's configuration (berth-registry.yaml).
type Config struct {
	Addr string `json:"addr"`
	Root string `json:"root"`
	TLS  struct {
		Cert string `json:"cert"`
		Key  string `json:"key"`
	} `json:"tls"`
	Auth *auth.Config `json:"auth,omitempty"`
	GC   GCConfig     `json:"gc"`
	// UploadExpiry is how long an unfinished upload session is kept.
	UploadExpiry Duration `json:"uploadExpiry"`
	// ChunkMinLength is advertised as OCI-Chunk-Min-Length.
	ChunkMinLength int64 `json:"chunkMinLength"`
	// AllowSparseManifests accepts manifests whose blobs, and indexes
	// whose child manifests, are not in the repository (yet): what a
	// partial mirror of a multi-platform image needs. Off, a manifest PUT
	// naming a missing blob or child fails with MANIFEST_BLOB_UNKNOWN.
	AllowSparseManifests bool `json:"allowSparseManifests"`
	// ShutdownTimeout bounds how long a graceful shutdown waits for
	// in-flight requests (uploads) to finish.
	ShutdownTimeout Duration `json:"shutdownTimeout"`
	// Repositories are per-repository rules (immutable tags, signed
	// pulls), see RepositoryRule.
	Repositories []RepositoryRule `json:"repositories"`
	// SignatureChecker verifies signatures for requireSignature: {keys:}
	// (set by the program, not the file; nil: keys are refused).
	SignatureChecker SignatureChecker `json:"-"`
	// Console serves the web console's registry pages (set by the
	// program: berth registry serve --console).
	Console ConsoleConfig `json:"-"`
	Log     struct {
		Level  string `json:"level"`  // debug, info, warn, error
		Access bool   `json:"access"` // one line per request
	} `json:"log"`
}

// GCConfig controls online garbage collection.
type GCConfig struct {
	// Interval between online collections; 0 disables the loop.
	Interval Duration `json:"interval"`
	// Grace protects blobs and manifests younger than this (written or
	// last confirmed to a client), so in-flight pushes keep their blobs.
	Grace Duration `json:"grace"`
	// DeleteUntagged removes manifests that no tag, index or live subject
	// keeps (after the grace period).
	DeleteUntagged bool `json:"deleteUntagged"`
}

// DefaultConfig returns the configuration used for fields a file leaves out.
func DefaultConfig() Config {
	c := Config{Addr: "127.0.0.1:5000", Root: "/var/lib/berth/registry"}
	c.GC.Interval = Duration(time.Hour)
	c.GC.Grace = Duration(2 * time.Hour)
	c.UploadExpiry = Duration(24 * time.Hour)
	c.ChunkMinLength = 0
	c.ShutdownTimeout = Duration(30 * time.Second)
	c.Log.Level = "info"
	c.Log.Access = true
	return c
}

// ResolveConfig is the configuration `berth registry serve` and `gc` start
// from: the defaults, then file (if not ""), then override (the flags),
// validated.
func ResolveConfig(file string, override func(*Config)) (Config, error) {
	cfg := DefaultConfig()
	if file != "" {
		var err error
		if cfg, err = decodeConfig(file); err != nil {
			return cfg, err
		}
	}
	// The overrides (flags, the signature checker the command wires) apply
	// before validation: requireSignature keys need the checker.
	override(&cfg)
	if err := cfg.Validate(); err != nil {
		if file != "" {
			return cfg, fmt.Errorf("registry config %s: %w", file, err)
		}
		return cfg, err
	}
	return cfg, nil
}

// LoadConfig reads a YAML configuration file over the defaults. Unknown
// fields are errors, so a typo never silently turns a feature off.
func LoadConfig(path string) (Config, error) {
	c, err := decodeConfig(path)
	if err != nil {
		return c, err
	}
	if err := c.Validate(); err != nil {
		return c, fmt.Errorf("registry config %s: %w", path, err)
	}
	return c, nil
}

// decodeConfig reads path over the defaults without validating.
func decodeConfig(path string) (Config, error) {
	c := DefaultConfig()
	raw, err := os.ReadFile(path)
	if err != nil {
		return c, fmt.Errorf("registry config: %w", err)
	}
	js, err := yamlToJSON(raw)
	if err != nil {
		return c, fmt.Errorf("registry config %s: %w", path, err)
	}
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return c, fmt.Errorf("registry config %s: %w", path, err)
	}
	return c, nil
}

// yamlToJSON reads a YAML document as JSON, so the config types need only
// JSON tags and one set of (Un)Marshalers, and the JSON decoder can refuse
// unknown fields by name. An empty document is null (the defaults stay).
func yamlToJSON(raw []byte) ([]byte, error) {
	var v any
	if err := yaml.Unmarshal(raw, &v); err != nil {
		return nil, err
	}
	v, err := jsonValue(v, "")
	if err != nil {
		return nil, err
	}
	return json.Marshal(v)
}

// jsonValue turns what the YAML decoder produced into what encoding/json
// can write: mappings with non-string keys get their keys formatted, and
// the floats JSON lacks (.inf, .nan) are errors naming their path.
func jsonValue(v any, path string) (any, error) {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			e, err := jsonValue(e, joinKey(path, k))
			if err != nil {
				return nil, err
			}
			v[k] = e
		}
		return v, nil
	case map[any]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			key := fmt.Sprint(k)
			e, err := jsonValue(e, joinKey(path, key))
			if err != nil {
				return nil, err
			}
			out[key] = e
		}
		return out, nil
	case []any:
		for i, e := range v {
			e, err := jsonValue(e, fmt.Sprintf("%s[%d]", path, i))
			if err != nil {
				return nil, err
			}
			v[i] = e
		}
		return v, nil
	case float64:
		if math.IsInf(v, 0) || math.IsNaN(v) {
			return nil, fmt.Errorf("%s: %v is not a number a config can hold", path, v)
		}
	}
	return v, nil
}

func joinKey(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// Validate checks values a file or flags may get wrong.
func (c Config) Validate() error {
	if c.Root == "" {
		return fmt.Errorf("root: must name a directory")
	}
	if (c.TLS.Cert == "") != (c.TLS.Key == "") {
		return fmt.Errorf("tls: cert and key must be given together")
	}
	if c.GC.Interval < 0 || c.GC.Grace < 0 || c.UploadExpiry < 0 {
		return fmt.Errorf("gc.interval, gc.grace and uploadExpiry must not be negative")
	}
	if c.ChunkMinLength < 0 {
		return fmt.Errorf("chunkMinLength: must not be negative, got %d", c.ChunkMinLength)
	}
	if _, err := compileRepoRules(c.Repositories, c.SignatureChecker != nil); err != nil {
		return err
	}
	switch c.Log.Level {
	case "", "debug", "info", "warn", "error":
	default:
		return fmt.Errorf("log.level: %q is not one of debug, info, warn, error", c.Log.Level)
	}
	return nil
}
