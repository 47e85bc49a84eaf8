package stack

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// rootPEM is a self-signed CA certificate, PEM.
func rootPEM(t *testing.T) string {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test root"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}

const acmeYAML = `vars:
  CA: https://staging.example.com/dir
acme:
  directory: ${CA}
  email: ops@example.com
  ca_roots: ca/staging.pem
  renew_before: 240h
services:
  web:
    image: web:1
    ports: ["443:8080"]
    x-berth-proxy: {hosts: [shop.example.com], tls: auto}
environments:
  prod:
    acme: {directory: https://prod.example.com/dir, challenge: tls-alpn-01}
  team:
    acme: {email: team@example.com, ca_roots: ca/team.pem}
  plain: {}
`

// acme: at the top is the file's default; an environment's acme: keys go
// over it one by one, except that a directory brings its own roots (the
// file's trust another CA). Values take ${VAR}s; ca_roots is read at
// load time, relative to berth.yaml.
func TestBerthYAMLACMEFileAndEnvironments(t *testing.T) {
	staging, team := rootPEM(t), rootPEM(t)
	dir := write(t, map[string]string{"berth.yaml": acmeYAML, "ca/staging.pem": staging, "ca/team.pem": team})
	f := filepath.Join(dir, "berth.yaml")
	for _, tc := range []struct {
		env  string
		want ACME
	}{
		{"", ACME{Directory: "https://staging.example.com/dir", Email: "ops@example.com", CARoots: filepath.Join(dir, "ca/staging.pem"), CARootsPEM: staging, RenewBefore: 240 * time.Hour}},
		{"plain", ACME{Directory: "https://staging.example.com/dir", Email: "ops@example.com", CARoots: filepath.Join(dir, "ca/staging.pem"), CARootsPEM: staging, RenewBefore: 240 * time.Hour}},
		{"prod", ACME{Directory: "https://prod.example.com/dir", Email: "ops@example.com", Challenge: "tls-alpn-01", RenewBefore: 240 * time.Hour}},
		{"team", ACME{Directory: "https://staging.example.com/dir", Email: "team@example.com", CARoots: filepath.Join(dir, "ca/team.pem"), CARootsPEM: team, RenewBefore: 240 * time.Hour}},
	} {
		st, _ := load(t, LoadOptions{Files: []string{f}, Env: tc.env})
		if st.ACME == nil || *st.ACME != tc.want {
			t.Errorf("-E %q: acme %+v\n  want %+v", tc.env, st.ACME, tc.want)
		}
	}
	// Environment variables reach ${VAR}s as in services.
	st, _ := load(t, LoadOptions{Files: []string{f}, LookupEnv: env("CA", "https://other.example.com/dir")})
	if st.ACME.Directory != "https://other.example.com/dir" {
		t.Errorf("${CA} from the environment: %q", st.ACME.Directory)
	}
	// No acme: anywhere: nil (the daemon's settings).
	dir = write(t, map[string]string{"berth.yaml": "services: {web: {image: web:1}}\nenvironments: {prod: {}}\n"})
	if st, _ := load(t, LoadOptions{Files: []string{filepath.Join(dir, "berth.yaml")}, Env: "prod"}); st.ACME != nil {
		t.Errorf("no acme: %+v", st.ACME)
	}
	// Only an environment's.
	dir = write(t, map[string]string{"berth.yaml": "services: {web: {image: web:1}}\nenvironments: {prod: {acme: {directory: https://prod.example.com/dir}}}\n"})
	if st, _ := load(t, LoadOptions{Files: []string{filepath.Join(dir, "berth.yaml")}, Env: "prod"}); st.ACME == nil || st.ACME.Directory != "https://prod.example.com/dir" {
		t.Errorf("environment-only acme: %+v", st.ACME)
	}
}

// Bad acme: values fail the load naming file:line:col, the field and the
// value, as the daemon's --acme-* checks do.
func TestBerthYAMLACMEErrors(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.MarshalPKCS8PrivateKey(key)
	privPEM := string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	base := "services:\n  web: {image: web:1}\n"
	for _, tc := range []struct {
		name, yaml, env string
		want            string
	}{
		{"http directory", base + "acme: {directory: http://ca.example.com/dir}\n", "",
			`berth.yaml:3:19: acme.directory: directory "http://ca.example.com/dir": want an https:// URL`},
		{"loopback http directory", base + "acme: {directory: 'http://127.0.0.1:14000/dir'}\n", "",
			`acme.directory: directory "http://127.0.0.1:14000/dir": want an https:// URL`},
		{"bad email", base + "acme:\n  directory: https://ca.example.com/dir\n  email: ops\n", "",
			`berth.yaml:5:10: acme.email: email "ops": not an email address`},
		{"email with a name", base + "acme: {email: 'Ops <ops@example.com>'}\n", "",
			`acme.email: email "Ops <ops@example.com>": not an email address`},
		{"unknown key", base + "acme: {directory: https://ca.example.com/dir, emial: ops@example.com}\n", "",
			`berth.yaml:3:47: acme: unknown field "emial" (fields: ca_roots, challenge, directory, email, renew_before)`},
		{"not a mapping", base + "acme: https://ca.example.com/dir\n", "",
			`berth.yaml:3:7: acme: expected a mapping`},
		{"list value", base + "acme: {email: [a@example.com]}\n", "",
			`acme.email: expected a string`},
		{"challenge", base + "acme: {challenge: dns-01}\n", "",
			`acme.challenge: challenge "dns-01": want http-01 or tls-alpn-01`},
		{"renew_before", base + "acme: {renew_before: soon}\n", "",
			`acme.renew_before: renew_before "soon": want a positive duration`},
		{"negative renew_before", base + "acme: {renew_before: -1h}\n", "",
			`acme.renew_before: renew_before "-1h": want a positive duration`},
		{"missing ca_roots", base + "acme: {ca_roots: ca/none.pem}\n", "",
			`acme.ca_roots: ca_roots "ca/none.pem":`},
		{"ca_roots not PEM", base + "acme: {ca_roots: notpem.txt}\n", "",
			`acme.ca_roots: ca_roots "notpem.txt": ` + "%DIR%" + `/notpem.txt: caRoots: no PEM certificate found`},
		{"ca_roots a private key", base + "acme: {ca_roots: key.pem}\n", "",
			`caRoots: PEM block 1 is a PRIVATE KEY, want CERTIFICATE`},
		{"ca_roots a directory", base + "acme: {ca_roots: ca}\n", "",
			`not a regular file`},
		{"ca_roots outside the root", base + "acme: {ca_roots: ../outside.pem}\n", "",
			`acme.ca_roots: "../outside.pem" resolves to`},
		{"unset variable", base + "acme: {directory: '${NOPE}'}\n", "",
			`acme.directory: variable "NOPE" is not set`},
		{"environment's", base + "environments:\n  prod:\n    acme: {directory: ftp://ca.example.com/dir}\n", "prod",
			`berth.yaml:5:23: environments.prod.acme.directory: directory "ftp://ca.example.com/dir": want an https:// URL`},
		{"environment's unknown key", base + "environments:\n  prod:\n    acme: {dir: https://ca.example.com/dir}\n", "prod",
			`environments.prod.acme: unknown field "dir"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := write(t, map[string]string{"berth.yaml": tc.yaml, "notpem.txt": "hello\n", "key.pem": privPEM, "ca/x": ""})
			os.WriteFile(filepath.Join(filepath.Dir(dir), "outside.pem"), []byte(rootPEM(t)), 0o600)
			t.Chdir(dir)
			err := loadErr(t, LoadOptions{Files: []string{"berth.yaml"}, Env: tc.env})
			if want := strings.ReplaceAll(tc.want, "%DIR%", dir); !strings.Contains(err.Error(), want) {
				t.Errorf("error %q\n  does not contain %q", err, want)
			}
		})
	}
}

// berth config prints acme: as written (the roots' path, not their PEM;
// renew_before as a duration).
func TestBerthYAMLACMEPrinted(t *testing.T) {
	dir := write(t, map[string]string{"berth.yaml": acmeYAML, "ca/staging.pem": rootPEM(t), "ca/team.pem": rootPEM(t)})
	st, _ := load(t, LoadOptions{Files: []string{filepath.Join(dir, "berth.yaml")}})
	var out strings.Builder
	if err := Print(&out, st, false); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"acme:\n", "  directory: https://staging.example.com/dir\n", "  renew_before: 240h0m0s\n",
		"  ca_roots: " + filepath.Join(dir, "ca/staging.pem") + "\n"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("berth config lacks %q:\n%s", want, out.String())
		}
	}
	if strings.Contains(out.String(), "BEGIN CERTIFICATE") {
		t.Errorf("berth config prints the roots' PEM:\n%s", out.String())
	}
}
