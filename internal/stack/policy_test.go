package stack

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/berth-dev/berth/internal/policy"
)

func pubKeyPEM(t testing.TB) string {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

const policyYAML = `images:
  app:
    layers:
      - name: etc
        paths: [{path: /etc/app, type: directory}]
environments:
  staging:
    registry: 127.0.0.1:5001
  prod:
    registry: 127.0.0.1:5002
    policy:
      require_signature: {keys: [keys/release.pub, keys/backup.pub]}
      require_sbom: true
      max_severity: high
      vex: [vex/]
`

func TestLoadTargetsPolicy(t *testing.T) {
	pub := pubKeyPEM(t)
	dir := write(t, map[string]string{"berth.yaml": policyYAML, "keys/release.pub": pub, "keys/backup.pub": pub, "vex/a.json": "{}"})
	got, err := LoadTargets(filepath.Join(dir, "berth.yaml"), LoadOptions{LookupEnv: env()})
	if err != nil {
		t.Fatal(err)
	}
	if got["staging"].Policy != nil {
		t.Errorf("staging has a policy: %+v", got["staging"].Policy)
	}
	real, _ := filepath.EvalSymlinks(dir)
	want := &policy.Policy{
		RequireSignature: true,
		Keys:             []policy.Key{{Name: "keys/release.pub", Path: filepath.Join(real, "keys/release.pub")}, {Name: "keys/backup.pub", Path: filepath.Join(real, "keys/backup.pub")}},
		RequireSBOM:      true, MaxSeverity: policy.High, VEX: []string{filepath.Join(real, "vex")},
	}
	if !reflect.DeepEqual(got["prod"].Policy, want) {
		t.Errorf("policy\n got %+v\nwant %+v", got["prod"].Policy, want)
	}
}

func TestLoadTargetsPolicyErrors(t *testing.T) {
	pub := pubKeyPEM(t)
	outside := t.TempDir()
	rel := func(dir string) string {
		r, err := filepath.Rel(dir, outside)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	os.WriteFile(filepath.Join(outside, "x.pub"), []byte(pub), 0o644)
	for _, c := range []struct{ name, old, new, want string }{
		{"severity", "max_severity: high", "max_severity: severe", `berth.yaml:14:21: environments.prod.policy.max_severity: invalid severity "severe": expected critical, high, medium or low`},
		{"unknown rule", "require_sbom: true", "require_sbom: true\n      allow_unsigned: true", `berth.yaml:14:7: environments.prod.policy: unknown field "allow_unsigned" (fields: require_signature, require_sbom, max_severity, vex)`},
		{"sbom not bool", "require_sbom: true", "require_sbom: yes please", `environments.prod.policy.require_sbom: expected true or false, got "yes please"`},
		{"missing key", "keys/backup.pub]", "keys/nope.pub]", `berth.yaml:12:52: environments.prod.policy.require_signature.keys[1]: key keys/nope.pub: no such file`},
		{"private key", "keys/backup.pub]", "keys/cosign.key]", `key keys/cosign.key: PEM block "ENCRYPTED SIGSTORE PRIVATE KEY", expected "PUBLIC KEY"; this is a private key`},
		{"leaves root", "keys/backup.pub]", "RELOUT/x.pub]", `environments.prod.policy.require_signature.keys[1]: "RELOUT/x.pub" resolves to`},
		{"absolute outside", "keys/backup.pub]", outside + "/x.pub]", `outside the directory of berth.yaml`},
		{"no keys", "{keys: [keys/release.pub, keys/backup.pub]}", "{keys: []}", `environments.prod.policy.require_signature.keys: at least one public key file is required`},
		{"bare true", "{keys: [keys/release.pub, keys/backup.pub]}", "true", `name the public keys a signature must verify with`},
		{"vex missing", "vex: [vex/]", "vex: [vex/, nope.json]", `environments.prod.policy.vex[1]: "nope.json": no such file or directory`},
		{"not mapping", "    policy:\n      require_signature: {keys: [keys/release.pub, keys/backup.pub]}\n      require_sbom: true\n      max_severity: high\n      vex: [vex/]\n", "    policy: strict\n", `berth.yaml:11:13: environments.prod.policy: expected a mapping`},
	} {
		t.Run(c.name, func(t *testing.T) {
			y := strings.Replace(policyYAML, c.old, c.new, 1)
			if y == policyYAML {
				t.Fatal("replacement did not apply")
			}
			dir := t.TempDir()
			y = strings.ReplaceAll(y, "RELOUT", rel(dir))
			want := strings.ReplaceAll(c.want, "RELOUT", rel(dir))
			writeIn(t, dir, map[string]string{"berth.yaml": y, "keys/release.pub": pub, "keys/backup.pub": pub, "vex/a.json": "{}",
				"keys/cosign.key": "-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n"})
			_, err := LoadTargets(filepath.Join(dir, "berth.yaml"), LoadOptions{LookupEnv: env()})
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Fatalf("got %v\nwant %s", err, want)
			}
		})
	}
}

func writeIn(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// FuzzLoadTargets feeds arbitrary bytes as a berth.yaml with a valid key
// and VEX directory beside it: LoadTargets (environments' registry,
// repository and policy:) must return targets or an error, never panic.
func FuzzLoadTargets(f *testing.F) {
	f.Add([]byte(policyYAML))
	for _, s := range []string{
		"environments: {prod: {policy: {require_signature: {keys: keys/release.pub}}}}\n",
		"environments: {prod: {policy: {require_signature: {keys: [[1]]}, max_severity: [x], vex: {a: b}}}}\n",
		"environments: {prod: {policy: {require_signature: true, require_sbom: 1}}}\n",
		"environments: {prod: {policy: [1, 2]}}\n",
		"environments: {prod: {policy: {require_signature: {keys: [\"../../etc/passwd\", /etc/passwd, \"\"]}}}}\n",
		"environments: {k8s: {kubernetes: {kubeconfig: ~/k, context: ${C:-x}, namespace: ns}}}\n",
		"environments: {k8s: {kubernetes: {kubeconfig: [1], context: \"\", namespace: N_S, x: 1}}}\n",
	} {
		f.Add([]byte(s))
	}
	pub := pubKeyPEM(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		writeIn(t, dir, map[string]string{"berth.yaml": string(data), "keys/release.pub": pub, "vex/a.json": "{}"})
		_, _ = LoadTargets(filepath.Join(dir, "berth.yaml"), LoadOptions{LookupEnv: env(), ProjectName: "fuzz"})
	})
}
