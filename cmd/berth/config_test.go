package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v4"
)

func runConfig(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	cmd := newConfigCommand()
	var out, errOut bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	cmd.SetArgs(args)
	err := cmd.Execute()
	return out.String(), errOut.String(), err
}

func TestConfigCommand(t *testing.T) {
	dir := t.TempDir()
	compose := filepath.Join(dir, "compose.yaml")
	if err := os.WriteFile(compose, []byte(`name: demo
services:
  web:
    image: "web:${TAG:-1}"
    ports: ["127.0.0.1:8080:80"]
    privileged: true
    secrets: [key]
    healthcheck: {test: [CMD, "true"], interval: 2s}
    environment: {VERSION: "1.0"}
secrets:
  key: {file: ./key.txt}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "key.txt"), []byte("hunter2-secret-value"), 0o600); err != nil {
		t.Fatal(err)
	}

	out, stderr, err := runConfig(t, "-f", compose, "--set", "TAG=7")
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := yaml.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("output is not YAML: %v\n%s", err, out)
	}
	for _, want := range []string{"name: demo", "image: web:7", "interval: 2s", "key.txt", `VERSION: "1.0"`} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out+stderr, "hunter2") {
		t.Error("a secret value was printed")
	}
	if !strings.Contains(stderr, "services.web.privileged") || strings.Count(stderr, "warning:") != 1 {
		t.Errorf("stderr should list the unsupported attribute once:\n%s", stderr)
	}

	// A secret from the environment would have to travel in the spec the
	// daemon keeps on disk: refused, naming the field, value unprinted.
	envSecret := filepath.Join(dir, "env-secret.yaml")
	if err := os.WriteFile(envSecret, []byte("services:\n  web:\n    image: x\n    secrets: [key]\nsecrets:\n  key: {environment: API_KEY}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("API_KEY", "hunter2-secret-value")
	if out, stderr, err := runConfig(t, "-f", envSecret); err == nil || !strings.Contains(err.Error(), "secrets.key.environment") || strings.Contains(out+stderr+err.Error(), "hunter2") {
		t.Errorf("environment secret: err %v\n%s%s", err, out, stderr)
	}

	out, _, err = runConfig(t, "-f", compose, "--json")
	if err != nil {
		t.Fatal(err)
	}
	var st struct {
		Name     string `json:"name"`
		Services []struct {
			Image string `json:"image"`
		} `json:"services"`
	}
	if err := json.Unmarshal([]byte(out), &st); err != nil || st.Name != "demo" || st.Services[0].Image != "web:1" {
		t.Errorf("--json: %v %+v\n%s", err, st, out)
	}

	if err := os.WriteFile(compose, []byte("services:\n  web:\n    image: x\n    imgae: y\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, _, err = runConfig(t, "-f", compose)
	if err == nil || !strings.Contains(err.Error(), `:4:5: services.web: unknown field "imgae"`) {
		t.Errorf("bad file: %v", err)
	}
	if _, _, err := runConfig(t, "-f", compose, "--set", "novalue"); err == nil || !strings.Contains(err.Error(), "KEY=VALUE") {
		t.Errorf("--set without =: %v", err)
	}
}

// `berth config > x.yaml; berth config -f x.yaml` used to fail with
// compose-go's "services must be a mapping": the output is berth's model,
// not a compose file. It now says what the file is and which files to load.
func TestConfigOutputIsNotReloaded(t *testing.T) {
	dir := t.TempDir()
	compose := filepath.Join(dir, "compose.yaml")
	if err := os.WriteFile(compose, []byte("name: demo\nservices:\n  web:\n    image: web:1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, _, err := runConfig(t, "-f", compose)
	if err != nil {
		t.Fatal(err)
	}
	printed := filepath.Join(dir, "x.yaml")
	if err := os.WriteFile(printed, []byte(out), 0o644); err != nil {
		t.Fatal(err)
	}
	_, _, err = runConfig(t, "-f", printed)
	if err == nil || !strings.Contains(err.Error(), printed+" is the output of `berth config`") || !strings.Contains(err.Error(), compose) {
		t.Errorf("berth config -f on its own output: %v", err)
	}
	// Every command that loads a stack or berth.yaml says so, not
	// compose-go's "services must be a mapping" or berth.yaml's unknown
	// fields (up fails before it asks the daemon anything).
	sock := []string{"--socket", filepath.Join(dir, "none.sock")}
	for _, args := range [][]string{{"up"}, {"ps"}, {"down"}, {"deploy"}, {"ship"}, {"logs"}, {"scale", "web=2"},
		{"build", "--file", printed}, {"lock", "--file", printed}, {"promote", "app", "--from", "a", "--to", "b", "--file", printed}} {
		if len(args) == 1 || args[0] == "scale" {
			args = append(append(args, "--file", printed), sock...)
		}
		_, _, err := runCLI(t, args...)
		if err == nil || !strings.Contains(err.Error(), "is the output of `berth config`") || !strings.Contains(err.Error(), "-f "+compose) {
			t.Errorf("berth %s -f on config's output: %v", args[0], err)
		}
	}
	// A compose file and a berth.yaml are not mistaken for printed output.
	if _, _, err := runConfig(t, "-f", compose); err != nil {
		t.Errorf("compose file: %v", err)
	}
}
