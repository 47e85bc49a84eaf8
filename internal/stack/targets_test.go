package stack

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

const targetsYAML = `vars:
  REG: 127.0.0.1:5001
  TEAM: example
images:
  app:
    layers:
      - name: etc
        paths: [{path: /etc/app, type: directory}]
services:
  web: {build: app}
environments:
  ci:
  staging:
    registry: ${REG}
    repository: ${TEAM}
    vars: {DOMAIN: staging.example}
  prod:
    registry: ${PROD_REG:-registry.example.com}
    repository: ${TEAM}/${STAGE}
    vars:
      STAGE: prod
      TEAM: team-a
    services:
      web: {replicas: 3}
`

func TestLoadTargets(t *testing.T) {
	dir := write(t, map[string]string{"berth.yaml": targetsYAML})
	path := filepath.Join(dir, "berth.yaml")
	got, err := LoadTargets(path, LoadOptions{LookupEnv: env()})
	if err != nil {
		t.Fatal(err)
	}
	project := filepath.Base(dir) // t.TempDir names are valid project names
	want := map[string]Target{
		"ci":      {Env: "ci", Repository: strings.ToLower(project)},
		"staging": {Env: "staging", Registry: "127.0.0.1:5001", Repository: "example"},
		"prod":    {Env: "prod", Registry: "registry.example.com", Repository: "team-a/prod"},
	}
	if got["ci"].Repository != want["ci"].Repository {
		// The project name is normalised; only check it is the default.
		want["ci"] = got["ci"]
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("targets\n got %+v\nwant %+v", got, want)
	}
	if r := got["staging"].Ref("app", "1.2.0"); r != "127.0.0.1:5001/example/app:1.2.0" {
		t.Errorf("Ref tag: %s", r)
	}
	if r := got["staging"].Ref("app", "sha256:abc"); r != "127.0.0.1:5001/example/app@sha256:abc" {
		t.Errorf("Ref digest: %s", r)
	}

	// --set beats the environment, which beats the environment's vars,
	// which beat berth.yaml's vars.
	got, err = LoadTargets(path, LoadOptions{LookupEnv: env("PROD_REG", "10.0.0.1:443", "STAGE", "live"), Set: map[string]string{"REG": "localhost:5009"}, ProjectName: "proj"})
	if err != nil {
		t.Fatal(err)
	}
	if got["prod"].Registry != "10.0.0.1:443" || got["prod"].Repository != "team-a/live" || got["staging"].Registry != "localhost:5009" || got["ci"].Repository != "proj" {
		t.Errorf("precedence: %+v", got)
	}

	// No environments: no targets, no error.
	dir = write(t, map[string]string{"berth.yaml": "images: {}\n"})
	got, err = LoadTargets(filepath.Join(dir, "berth.yaml"), LoadOptions{})
	if err != nil || len(got) != 0 {
		t.Errorf("no environments: %v %v", got, err)
	}
	if KnownEnvironments(got) != "berth.yaml has no environments:" || KnownEnvironments(want) != "known: ci, prod, staging" {
		t.Errorf("KnownEnvironments: %q %q", KnownEnvironments(got), KnownEnvironments(want))
	}
}

func TestLoadTargetsErrors(t *testing.T) {
	for _, tc := range []struct{ name, old, new, want string }{
		{"scheme", "registry: ${REG}", "registry: http://127.0.0.1:5001", `berth.yaml:14:15: environments.staging.registry: "http://127.0.0.1:5001" is not host[:port] (no scheme`},
		{"path", "registry: ${REG}", "registry: 127.0.0.1:5001/team", `environments.staging.registry: "127.0.0.1:5001/team" is not host[:port] (no path`},
		{"port", "registry: ${REG}", "registry: 127.0.0.1:99999", `port "99999" is not 1-65535`},
		{"host", "registry: ${REG}", "registry: bad_host", `"bad_host" is not host[:port] (invalid host name)`},
		{"list", "registry: ${REG}", "registry: [a]", "environments.staging.registry: expected a string"},
		{"repository", "repository: ${TEAM}", "repository: Team/App", `berth.yaml:15:17: environments.staging.repository: "Team/App" is not a valid repository path`},
		{"unset", "repository: ${TEAM}", "repository: ${NOPE}", `environments.staging.repository: variable "NOPE" is not set`},
		{"unknown key", "    vars: {DOMAIN: staging.example}", "    vars: {DOMAIN: staging.example}\n    replicas: 2", `berth.yaml:17:5: environments.staging: unknown field "replicas" (fields: acme, kubernetes, policy, registry, repository, services, vars)`},
		{"not a mapping", "  ci:\n", "  ci: [x]\n", "environments.ci: expected a mapping"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			y := strings.Replace(targetsYAML, tc.old, tc.new, 1)
			if y == targetsYAML {
				t.Fatalf("replacement %q not found", tc.old)
			}
			dir := write(t, map[string]string{"berth.yaml": y})
			t.Chdir(dir)
			_, err := LoadTargets("berth.yaml", LoadOptions{LookupEnv: env()})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v\n  does not contain %q", err, tc.want)
			}
		})
	}
	// A directory name that is no valid repository needs repository:.
	dir := write(t, map[string]string{"berth.yaml": "environments:\n  ci: {registry: 127.0.0.1:5000}\n"})
	_, err := LoadTargets(filepath.Join(dir, "berth.yaml"), LoadOptions{ProjectName: "_bad"})
	if err == nil || !strings.Contains(err.Error(), `the default repository "_bad" (the project name) is not a valid repository path; set environments.ci.repository`) {
		t.Errorf("bad default repository: %v", err)
	}
}

func TestValidateRegistryHost(t *testing.T) {
	for _, ok := range []string{"localhost", "127.0.0.1:5000", "registry.example.com", "r-1.example.com:443", "[::1]:5000", "[::1]", "ghcr.io"} {
		if err := validateRegistryHost(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "https://x", "x/y", "-x.com", "x..com", "x:0", "x:port", "::1", "[zz]:5", "a b"} {
		if err := validateRegistryHost(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
