package stack

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// TestSecretsConfigsTmpfsHonoured: the long syntaxes of secrets, configs
// and tmpfs come through with every field, defaults as compose's.
func TestSecretsConfigsTmpfsHonoured(t *testing.T) {
	dir := write(t, map[string]string{"compose.yaml": `services:
  app:
    image: x
    hostname: app-1
    secrets:
      - plain
      - source: plain
        target: other
        uid: "1000"
        gid: "1001"
        mode: 0440
      - source: plain
        target: /etc/key.pem
    configs:
      - conf
      - source: fromenv
        target: /etc/env.conf
        uid: "7"
        mode: 0400
      - source: conf
        target: rel.conf
    volumes:
      - {type: tmpfs, target: /scratch, tmpfs: {size: 2m, mode: 0o700}}
    tmpfs: ["/short:size=64k,mode=1770,ro"]
    depends_on:
      db: {condition: service_started, required: false}
  db:
    image: y
secrets:
  plain: {file: ./p.txt}
configs:
  conf: {file: ./c.conf}
  fromenv: {environment: CONF}
`, "p.txt": "p", "c.conf": "c"})
	st, warns := load(t, LoadOptions{Files: []string{filepath.Join(dir, "compose.yaml")}, LookupEnv: env("CONF", "from the environment")})
	if len(warns) != 0 {
		t.Errorf("warnings: %v", warns)
	}
	app := st.Service("app")
	wantSecrets := []SecretRef{
		{Source: "plain", Target: "/run/secrets/plain", Mode: 0o400},
		{Source: "plain", Target: "/run/secrets/other", Mode: 0o440, UID: "1000", GID: "1001"},
		{Source: "plain", Target: "/etc/key.pem", Mode: 0o400},
	}
	if !reflect.DeepEqual(app.Secrets, wantSecrets) {
		t.Errorf("secrets %+v\nwant %+v", app.Secrets, wantSecrets)
	}
	wantConfigs := []ConfigRef{
		{Source: "conf", Target: "/conf", Mode: 0o444},
		{Source: "fromenv", Target: "/etc/env.conf", Mode: 0o400, UID: "7"},
		{Source: "conf", Target: "/rel.conf", Mode: 0o444},
	}
	if !reflect.DeepEqual(app.Configs, wantConfigs) {
		t.Errorf("configs %+v\nwant %+v", app.Configs, wantConfigs)
	}
	if c := st.Configs["fromenv"]; c.Content != "from the environment" {
		t.Errorf("config from the environment: %+v", c)
	}
	wantMounts := []Mount{
		{Type: MountTmpfs, Target: "/scratch", TmpfsSize: 2 << 20, TmpfsMode: 0o700},
		{Type: MountTmpfs, Target: "/short", TmpfsSize: 64 << 10, TmpfsMode: 0o1770, ReadOnly: true},
	}
	if !reflect.DeepEqual(app.Volumes, wantMounts) {
		t.Errorf("mounts %+v\nwant %+v", app.Volumes, wantMounts)
	}
	if app.Hostname != "app-1" || app.DependsOn["db"].Required {
		t.Errorf("hostname %q depends_on %+v", app.Hostname, app.DependsOn)
	}
}

// TestRefusedNotDropped: what berth cannot honour fails the load with an
// error naming the service and field, instead of being dropped.
func TestRefusedNotDropped(t *testing.T) {
	const head = "services:\n  app:\n    image: x\n"
	const decl = "secrets:\n  s: {file: ./f}\nconfigs:\n  c: {content: x}\n"
	for _, tc := range []struct{ name, yaml, want string }{
		{"secret from the environment", head + "    secrets: [e]\nsecrets:\n  e: {environment: E}\n", "secrets.e.environment"},
		{"secret target climbing out", head + "    secrets: [{source: s, target: ../../etc/passwd}]\n" + decl, "services.app.secrets[0]"},
		{"absolute secret target climbing", head + "    secrets: [{source: s, target: /etc/../x}]\n" + decl, "services.app.secrets[0]"},
		{"nested relative secret target", head + "    secrets: [{source: s, target: a/b}]\n" + decl, "services.app.secrets[0]"},
		{"secret target /", head + "    secrets: [{source: s, target: /}]\n" + decl, "services.app.secrets[0]"},
		{"secret target the secrets directory", head + "    secrets: [{source: s, target: /run/secrets}]\n" + decl, "services.app.secrets[0]"},
		{"secret uid not a number", head + "    secrets: [{source: s, uid: www}]\n" + decl, "services.app.secrets[0]: uid"},
		{"secret mode with setuid", head + "    secrets: [{source: s, mode: 04755}]\n" + decl, "services.app.secrets[0]: mode"},
		{"secret mode 0", head + "    secrets: [{source: s, mode: 0}]\n" + decl, "services.app.secrets[0]: mode"},
		{"config target climbing", head + "    configs: [{source: c, target: /a/../../b}]\n" + decl, "services.app.configs[0]"},
		{"config gid not a number", head + "    configs: [{source: c, gid: staff}]\n" + decl, "services.app.configs[0]: gid"},
		{"two files at one target", head + "    secrets: [{source: s, target: /x}]\n    configs: [{source: c, target: /x}]\n" + decl, "services.app.configs[0]: target /x is already mounted by secrets[0]"},
		{"config environment unset", head + "    configs: [c]\nconfigs:\n  c: {environment: NOPE}\n", "configs.c.environment: variable NOPE is not set"},
		{"unknown tmpfs option", head + "    tmpfs: [\"/t:size=1m,uid=5\"]\n", "services.app.tmpfs[0]"},
		{"tmpfs mode out of range", head + "    tmpfs: [\"/t:mode=77777\"]\n", "services.app.tmpfs[0]"},
		{"anonymous volume", head + "    volumes: [/data]\n", "services.app.volumes[0]: anonymous volume"},
		{"unknown volume type", head + "    volumes: [{type: npipe, source: a, target: /b}]\n", "services.app.volumes[0]"},
		{"internal network", head + "    networks: [n]\nnetworks:\n  n: {internal: true}\n", "networks.n.internal"},
		{"external network", head + "    networks: [n]\nnetworks:\n  n: {external: true}\n", "networks.n.external"},
		{"two networks", head + "    networks: [a]\n  b:\n    image: y\n    networks: [b]\nnetworks:\n  a: {}\n  b: {}\n", "services.b.networks"},
		{"bad hostname", head + "    hostname: \"a_b\"\n", "services.app.hostname"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := write(t, map[string]string{"compose.yaml": tc.yaml, "f": "v"})
			err := loadErr(t, LoadOptions{Files: []string{filepath.Join(dir, "compose.yaml")}, LookupEnv: env("E", "hunter2")})
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not name %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("error shows a secret's value: %v", err)
			}
		})
	}
}
