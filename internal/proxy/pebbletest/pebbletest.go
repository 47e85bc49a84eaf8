// Package pebbletest runs a real ACME CA for tests: pebble
// (github.com/letsencrypt/pebble) with its challenge test server as the
// DNS server that resolves every name to 127.0.0.1, all on loopback.
// scripts/deps.sh installs both binaries into bin/; a test skips, saying
// so, when they are missing.
package pebbletest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// Options shape the CA.
type Options struct {
	// HTTPPort is the port pebble fetches HTTP-01 answers from (on
	// 127.0.0.1, where every name resolves): the proxy's plain listener.
	HTTPPort int
	// TLSPort is where it validates TLS-ALPN-01 (zero: a free port
	// nothing listens on).
	TLSPort int
	// Validity of the certificates issued (zero: 90 days).
	Validity time.Duration
}

// CA is a running pebble.
type CA struct {
	t        testing.TB
	bin      string
	starts   int
	dir      string
	args     []string
	env      []string
	cmd      *exec.Cmd
	addr     string // ACME API
	mgmt     string // management API (roots)
	apiRoots []byte // PEM trusted for the ACME API's HTTPS
	apiPool  *x509.CertPool
}

// Binaries finds pebble and pebble-challtestsrv on PATH or in the
// module's bin/ (scripts/deps.sh), or skips the test.
func Binaries(t testing.TB) (pebble, challtestsrv string) {
	t.Helper()
	find := func(name string) string {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
		dir, _ := os.Getwd()
		for {
			if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
				p := filepath.Join(dir, "bin", name)
				if _, err := os.Stat(p); err == nil {
					return p
				}
				return ""
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				return ""
			}
			dir = parent
		}
	}
	pebble, challtestsrv = find("pebble"), find("pebble-challtestsrv")
	if pebble == "" || challtestsrv == "" {
		t.Skip("pebble and pebble-challtestsrv are not installed (bash scripts/deps.sh puts them in bin/)")
	}
	return pebble, challtestsrv
}

// FreePort returns a loopback TCP port that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Start runs pebble and the DNS server until the test ends.
func Start(t testing.TB, o Options) *CA {
	t.Helper()
	pebbleBin, challBin := Binaries(t)
	if o.Validity == 0 {
		o.Validity = 90 * 24 * time.Hour
	}
	dir := t.TempDir()
	ca := &CA{t: t, dir: dir,
		addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(FreePort(t))),
		mgmt: net.JoinHostPort("127.0.0.1", strconv.Itoa(FreePort(t)))}
	certFile, keyFile := ca.apiCertificate()
	dnsPort := FreePort(t)
	if o.TLSPort == 0 {
		o.TLSPort = FreePort(t)
	}
	cfg := map[string]any{"pebble": map[string]any{
		"listenAddress":           ca.addr,
		"managementListenAddress": ca.mgmt,
		"certificate":             certFile,
		"privateKey":              keyFile,
		"httpPort":                o.HTTPPort,
		"tlsPort":                 o.TLSPort,
		"ocspResponderURL":        "",
		"retryAfter":              map[string]int{"authz": 1, "order": 1},
		"keyAlgorithm":            "ecdsa",
		"profiles": map[string]any{"default": map[string]any{
			"description": "berth tests", "validityPeriod": int64(o.Validity / time.Second)}},
	}}
	b, _ := json.Marshal(cfg)
	cfgFile := filepath.Join(dir, "pebble.json")
	if err := os.WriteFile(cfgFile, b, 0o600); err != nil {
		t.Fatal(err)
	}

	dns := net.JoinHostPort("127.0.0.1", strconv.Itoa(dnsPort))
	chall := exec.Command(challBin, "-dnsserver", dns, "-defaultIPv4", "127.0.0.1", "-defaultIPv6", "",
		"-management", net.JoinHostPort("127.0.0.1", strconv.Itoa(FreePort(t))),
		"-doh", "", "-http01", "", "-https01", "", "-tlsalpn01", "")
	startLogged(t, chall, filepath.Join(dir, "challtestsrv.log"))
	waitTCP(t, dns)

	ca.args = []string{"-config", cfgFile, "-dnsserver", dns}
	// No sleeps before validating, every nonce good, a new authorization
	// (so a new HTTP-01 validation) for every order.
	ca.env = append(os.Environ(), "PEBBLE_VA_NOSLEEP=1", "PEBBLE_WFE_NONCEREJECT=0", "PEBBLE_AUTHZREUSE=0")
	ca.bin = pebbleBin
	ca.Restart()
	return ca
}

// Stop kills pebble (the CA becomes unreachable); Restart starts it
// again on the same addresses — a new pebble, with new roots.
func (ca *CA) Stop() {
	ca.cmd.Process.Kill()
	ca.cmd.Wait()
}

func (ca *CA) Restart() {
	ca.t.Helper()
	ca.starts++
	ca.cmd = exec.Command(ca.bin, ca.args...)
	ca.cmd.Env = ca.env
	startLogged(ca.t, ca.cmd, filepath.Join(ca.dir, fmt.Sprintf("pebble%d.log", ca.starts)))
	waitTCP(ca.t, ca.addr)
}

// Directory is the ACME directory URL.
func (ca *CA) Directory() string { return "https://" + ca.addr + "/dir" }

// APIRoots is the PEM of the root that signed the ACME API's HTTPS
// certificate (acme ca_roots).
func (ca *CA) APIRoots() string { return string(ca.apiRoots) }

// IssuingRoots fetches the roots pebble issues under (generated at each
// start) from its management API.
func (ca *CA) IssuingRoots() *x509.CertPool {
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(ca.IssuingRootsPEM()) {
		ca.t.Fatal("pebble roots: no certificate")
	}
	return pool
}

// IssuingRootsPEM is IssuingRoots as PEM (for curl --cacert).
func (ca *CA) IssuingRootsPEM() []byte {
	ca.t.Helper()
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.apiPool}}}
	resp, err := c.Get("https://" + ca.mgmt + "/roots/0")
	if err != nil {
		ca.t.Fatalf("pebble roots: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		ca.t.Fatalf("pebble roots: %d %s", resp.StatusCode, b)
	}
	return b
}

// apiCertificate makes a root and a certificate for 127.0.0.1 signed by
// it, for pebble's HTTPS; it returns the files.
func (ca *CA) apiCertificate() (certFile, keyFile string) {
	t := ca.t
	rootKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	rootTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "pebbletest API root"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	rootDER, err := x509.CreateCertificate(rand.Reader, rootTmpl, rootTmpl, &rootKey.PublicKey, rootKey)
	if err != nil {
		t.Fatal(err)
	}
	root, _ := x509.ParseCertificate(rootDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "localhost"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, root, &key.PublicKey, rootKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalECPrivateKey(key)
	certFile, keyFile = filepath.Join(ca.dir, "api.pem"), filepath.Join(ca.dir, "api.key")
	write := func(p string, b []byte) {
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	write(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}))
	ca.apiRoots = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: rootDER})
	ca.apiPool = x509.NewCertPool()
	ca.apiPool.AddCert(root)
	return certFile, keyFile
}

// startLogged starts c with its output in logFile, killed when the test
// ends; the log is shown when the test failed.
func startLogged(t testing.TB, c *exec.Cmd, logFile string) {
	t.Helper()
	f, err := os.Create(logFile)
	if err != nil {
		t.Fatal(err)
	}
	c.Stdout, c.Stderr = f, f
	c.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := c.Start(); err != nil {
		f.Close()
		t.Fatalf("starting %s: %v", c.Path, err)
	}
	t.Cleanup(func() {
		if c.ProcessState == nil {
			c.Process.Kill()
			c.Wait()
		}
		f.Close()
		if t.Failed() {
			b, _ := os.ReadFile(logFile)
			t.Logf("%s:\n%s", filepath.Base(logFile), b)
		}
	})
}

func waitTCP(t testing.TB, addr string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not start listening: %v", addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// String names the CA in messages.
func (ca *CA) String() string { return fmt.Sprintf("pebble at %s", ca.addr) }
