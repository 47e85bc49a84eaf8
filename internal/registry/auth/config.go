package auth

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"time"
)

// Defaults applied by New when the configuration leaves a field empty.
const (
	DefaultRealm       = "berth registry"
	DefaultService     = "berth-registry"
	DefaultIssuer      = "berth"
	DefaultTokenExpiry = 5 * time.Minute
	// TokenPath is where TokenHandler is expected to be mounted; a token
	// realm derived from the request points there.
	TokenPath = "/auth/token"
)

// Config configures authentication and authorization. It is read from the
// registry's YAML/JSON configuration file.
type Config struct {
	// Htpasswd is the path of an htpasswd file with bcrypt entries only.
	Htpasswd string `json:"htpasswd"`
	// Realm is the realm of Basic challenges, default "berth registry".
	Realm string `json:"realm"`
	// Token, when set, switches to Docker's token flow: challenges send
	// clients to the token endpoint instead of asking for Basic credentials.
	Token *TokenConfig `json:"token"`
	// AnonymousPull is a shorthand for the rule
	// {repositories: ["**"], users: ["anonymous"], actions: [pull]}.
	AnonymousPull bool `json:"anonymousPull"`
	// Groups maps a group name to its users.
	Groups map[string][]string `json:"groups"`
	// Rules grant actions on repositories. With no rules every authenticated
	// user may do everything.
	Rules []Rule `json:"rules"`

	// Logger receives warnings (an htpasswd file that stopped parsing, a key
	// file readable by others). Nil means slog.Default().
	Logger *slog.Logger `json:"-"`
}

// TokenConfig configures Docker's token flow.
type TokenConfig struct {
	// Realm is the absolute URL of the token endpoint. Empty means derived
	// from each request: scheme://Host/auth/token, with X-Forwarded-Proto
	// deciding the scheme behind a TLS-terminating proxy.
	Realm string `json:"realm"`
	// Service is the token audience, default "berth-registry".
	Service string `json:"service"`
	// Issuer is the token issuer, default "berth".
	Issuer string `json:"issuer"`
	// Expiry is how long a token is valid, default 5m. In JSON/YAML it is a
	// duration string such as "5m" or "1h30m".
	Expiry time.Duration `json:"expiry"`
	// KeyFile holds the signing key. A missing file is created (mode 0600)
	// so tokens survive restarts; empty means a key kept in memory only.
	KeyFile string `json:"keyFile"`
}

// tokenConfigJSON mirrors TokenConfig with Expiry as raw JSON, so that
// UnmarshalJSON can read duration strings without recursing into itself.
type tokenConfigJSON struct {
	Realm   string          `json:"realm"`
	Service string          `json:"service"`
	Issuer  string          `json:"issuer"`
	Expiry  json.RawMessage `json:"expiry"`
	KeyFile string          `json:"keyFile"`
}

// UnmarshalJSON reads Expiry as a Go duration string ("5m"). Bare numbers are
// refused: time.Duration would read 300 as 300 nanoseconds, which nobody means.
func (t *TokenConfig) UnmarshalJSON(data []byte) error {
	var raw tokenConfigJSON
	if err := json.Unmarshal(data, &raw); err != nil {
		return err
	}
	*t = TokenConfig{Realm: raw.Realm, Service: raw.Service, Issuer: raw.Issuer, KeyFile: raw.KeyFile}
	if len(raw.Expiry) == 0 || string(raw.Expiry) == "null" {
		return nil
	}
	var s string
	if err := json.Unmarshal(raw.Expiry, &s); err != nil {
		return fmt.Errorf("token.expiry: %s is not a duration string; write it like \"5m\" or \"1h\"", raw.Expiry)
	}
	if s == "" {
		return nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("token.expiry: %q is not a duration; write it like \"5m\" or \"1h\"", s)
	}
	t.Expiry = d
	return nil
}

// MarshalJSON writes Expiry as a duration string, so a marshalled config
// loads again.
func (t TokenConfig) MarshalJSON() ([]byte, error) {
	raw := struct {
		Realm   string `json:"realm,omitempty"`
		Service string `json:"service,omitempty"`
		Issuer  string `json:"issuer,omitempty"`
		Expiry  string `json:"expiry,omitempty"`
		KeyFile string `json:"keyFile,omitempty"`
	}{Realm: t.Realm, Service: t.Service, Issuer: t.Issuer, KeyFile: t.KeyFile}
	if t.Expiry != 0 {
		raw.Expiry = t.Expiry.String()
	}
	return json.Marshal(raw)
}
