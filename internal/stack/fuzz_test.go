package stack

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// FuzzLoad feeds arbitrary bytes as a compose file: Load must return a
// stack or an error, never panic (plain go test runs the seeds only).
func FuzzLoad(f *testing.F) {
	full, err := os.ReadFile("testdata/full/compose.yaml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(full)
	for _, s := range []string{
		"",
		"services: {web: {image: x}}\n",
		"services:\n  web:\n    image: x\n    ports: [\"abc:80\", \"1-2:3-4\", \"::\"]\n",
		"services: {a: {image: x, depends_on: [b]}, b: {image: x, depends_on: [a]}}\n",
		"services: {web: {image: \"${X:?boom}\"}}\n",
		"x: &a [*a]\n",
		"services: {web: {image: x, volumes: [\":::\", {type: tmpfs}], tmpfs: [\"/t:size=zz\"]}}\n",
		"services: {web: {image: x, healthcheck: {test: 5}, deploy: {replicas: -1}}}\n",
		"services: {web: {image: x, secrets: [{source: s, mode: 99999999}]}}\nsecrets: {s: {file: /dev/null}}\n",
		"name: \"\"\nservices: {\"\": {image: x}}\n",
		"services: {web: {image: x, x-berth-proxy: {hosts: [a, 5], tls: {cert: 1, key: [2]}, drain_timeout: -1s}}}\n",
		"services: {web: {image: x, x-berth-proxy: [1, 2]}}\n",
		"services: {web: {image: x, x-berth-proxy: {backend_protocol: h2c, protocol: tcp}}}\n",
		"services: {web: {image: x, x-berth-proxy: {backend_protocol: 2}}}\n",
		"services: {web: {image: x, x-berth-proxy: {timeouts: {read_body: 1s, response_header: [x], write: -1s, idle: 2}}}}\n",
		"acme: {directory: http://x, email: [1], ca_roots: /etc/passwd, renew_before: -1s, challenge: dns-01}\nservices: {web: {image: x}}\n",
		"acme: &a {directory: 'https://${X}/d', ca_roots: ., bogus: 1}\nservices: {web: {image: x}}\nenvironments: {p: {acme: *a}}\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		p := filepath.Join(dir, "compose.yaml")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		st, _, err := Load(context.Background(), LoadOptions{Files: []string{p}, LookupEnv: env(), ProjectName: "fuzz"})
		if err == nil && st == nil {
			t.Fatal("nil stack without an error")
		}
	})
}
