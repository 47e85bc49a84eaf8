package registry_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/registry"
)

func TestLoadConfigAllowSparseManifests(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cfg, err := registry.LoadConfig(write("default.yaml", "root: /srv/reg\n"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.AllowSparseManifests {
		t.Fatal("allowSparseManifests is on without being set")
	}
	cfg, err = registry.LoadConfig(write("on.yaml", "root: /srv/reg\nallowSparseManifests: true\n"))
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.AllowSparseManifests {
		t.Fatal("allowSparseManifests: true did not turn it on")
	}
	p := write("typo.yaml", "root: /srv/reg\nallowSparseManifest: true\n")
	if _, err := registry.LoadConfig(p); err == nil || !strings.Contains(err.Error(), "allowSparseManifest") || !strings.Contains(err.Error(), p) {
		t.Fatalf("a misspelt allowSparseManifests: error %v, want one naming the field and %s", err, p)
	}
}

// The auth section is read through the same YAML → JSON path as the rest
// (moved from the auth package, which no longer parses YAML itself).
func TestLoadConfigAuthSection(t *testing.T) {
	t.Parallel()
	p := filepath.Join(t.TempDir(), "reg.yaml")
	doc := `
root: /srv/reg
auth:
  htpasswd: /etc/berth/htpasswd
  anonymousPull: true
  token:
    service: reg.example
    expiry: 10m
    keyFile: /var/lib/berth/token.key
  groups:
    devs: [alice, bob]
  rules:
    - repositories: ["team/**"]
      groups: [devs]
      actions: [pull, push]
`
	if err := os.WriteFile(p, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := registry.LoadConfig(p)
	if err != nil {
		t.Fatal(err)
	}
	cfg := c.Auth
	if cfg == nil {
		t.Fatal("auth section not read")
	}
	if cfg.Token == nil || cfg.Token.Expiry != 10*time.Minute || cfg.Token.Service != "reg.example" || cfg.Token.KeyFile != "/var/lib/berth/token.key" {
		t.Fatalf("token config = %+v", cfg.Token)
	}
	if !cfg.AnonymousPull || len(cfg.Rules) != 1 || cfg.Rules[0].Groups[0] != "devs" || len(cfg.Groups["devs"]) != 2 {
		t.Fatalf("config = %+v", cfg)
	}
}

func TestLoadConfigYAML(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	load := func(name, body string) (registry.Config, error) {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return registry.LoadConfig(p)
	}
	// An empty file keeps every default.
	c, err := load("empty.yaml", "")
	if err != nil || c.Root != registry.DefaultConfig().Root || c.GC.Grace != registry.DefaultConfig().GC.Grace {
		t.Fatalf("empty file: %+v, %v", c, err)
	}
	// Durations as strings or seconds; anchors and aliases.
	c, err = load("durations.yaml", "root: /r\ngc: {interval: &i 90s, grace: 60}\nuploadExpiry: *i\n")
	if err != nil {
		t.Fatal(err)
	}
	if c.GC.Interval != registry.Duration(90*time.Second) || c.GC.Grace != registry.Duration(time.Minute) || c.UploadExpiry != registry.Duration(90*time.Second) {
		t.Fatalf("durations: %+v", c)
	}
	// Non-string keys do not crash the conversion; JSON refuses them by name.
	if _, err := load("intkey.yaml", "root: /r\n1: x\n"); err == nil || !strings.Contains(err.Error(), `"1"`) {
		t.Errorf("integer key: err = %v, want one naming the field \"1\"", err)
	}
	// JSON has no infinity.
	if _, err := load("inf.yaml", "root: /r\nchunkMinLength: .inf\n"); err == nil || !strings.Contains(err.Error(), "chunkMinLength") {
		t.Errorf(".inf: err = %v, want one naming chunkMinLength", err)
	}
	// YAML syntax errors name the file and the line.
	p := filepath.Join(dir, "syntax.yaml")
	if _, err := load("syntax.yaml", "root: /r\ngc:\n  interval: 1h\n   grace: 2h\n"); err == nil || !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), "line ") {
		t.Errorf("syntax error: err = %v, want one naming %s and a line", err, p)
	}
}

func TestResolveConfigLayersFileThenFlags(t *testing.T) {
	file := filepath.Join(t.TempDir(), "berth-registry.yaml")
	if err := os.WriteFile(file, []byte("addr: 127.0.0.1:6000\nroot: /srv/reg\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := registry.ResolveConfig(file, func(c *registry.Config) { c.Root = "/data" })
	if err != nil || cfg.Addr != "127.0.0.1:6000" || cfg.Root != "/data" {
		t.Errorf("file+flag: %+v %v", cfg, err)
	}
	cfg, err = registry.ResolveConfig("", func(*registry.Config) {})
	if err != nil || cfg.Addr != registry.DefaultConfig().Addr {
		t.Errorf("defaults: %+v %v", cfg, err)
	}
	if _, err := registry.ResolveConfig("", func(c *registry.Config) { c.Root = "" }); err == nil {
		t.Error("invalid override accepted")
	}
	if _, err := registry.ResolveConfig(filepath.Join(t.TempDir(), "missing.yaml"), func(*registry.Config) {}); err == nil {
		t.Error("missing file accepted")
	}
}

// TestResolveConfigSignatureCheckerBeforeValidation: requireSignature keys
// in the file are valid once the command wires a checker through the
// override (berth registry serve does); without one they stay an error
// naming the file and the field.
func TestResolveConfigSignatureCheckerBeforeValidation(t *testing.T) {
	dir := t.TempDir()
	key := filepath.Join(dir, "release.pub")
	if err := os.WriteFile(key, []byte("-----BEGIN PUBLIC KEY-----\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "berth-registry.yaml")
	if err := os.WriteFile(file, []byte("root: /srv/reg\nrepositories:\n  - match: [\"prod/**\"]\n    requireSignature: {keys: ["+key+"]}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := registry.ResolveConfig(file, func(c *registry.Config) { c.SignatureChecker = keyChecker{} })
	if err != nil || len(cfg.Repositories) != 1 || cfg.Repositories[0].RequireSignature.Keys[0] != key {
		t.Fatalf("with a checker: %+v %v", cfg.Repositories, err)
	}
	if _, err := registry.ResolveConfig(file, func(*registry.Config) {}); err == nil || !strings.Contains(err.Error(), file) || !strings.Contains(err.Error(), "repositories[0].requireSignature.keys") {
		t.Fatalf("without a checker: %v", err)
	}
}
