package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/registry"
)

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// startServe runs serveRegistry in the background and waits until url/v2/
// answers through client.
func startServe(t *testing.T, cfg registry.Config, client *http.Client, url string) (cancel func(), done chan error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done = make(chan error, 1)
	go func() { done <- serveRegistry(ctx, cfg) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := client.Get(url + "/v2/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return cancel, done
			}
		}
		select {
		case err := <-done:
			t.Fatalf("serve exited: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("registry not ready: %v", err)
		}
		time.Sleep(10 * time.Millisecond) // polling interval
	}
}

func testConfig(t *testing.T) registry.Config {
	cfg := registry.DefaultConfig()
	cfg.Root = t.TempDir()
	cfg.Addr = freeAddr(t)
	cfg.Log.Access = false
	cfg.Log.Level = "error"
	return cfg
}

func TestServeTLS(t *testing.T) {
	cfg := testConfig(t)
	dir := t.TempDir()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "berth test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalECPrivateKey(key)
	cfg.TLS.Cert = filepath.Join(dir, "cert.pem")
	cfg.TLS.Key = filepath.Join(dir, "key.pem")
	os.WriteFile(cfg.TLS.Cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
	os.WriteFile(cfg.TLS.Key, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600)

	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	cancel, done := startServe(t, cfg, client, "https://"+cfg.Addr)
	defer func() { cancel(); <-done }()

	// Plain HTTP to a TLS port fails; HTTPS with the right CA works.
	if resp, err := http.Get("http://" + cfg.Addr + "/v2/"); err == nil && resp.StatusCode == 200 {
		t.Fatal("plain HTTP was served on the TLS port")
	}
	resp, err := client.Get("https://" + cfg.Addr + "/v2/")
	if err != nil || resp.StatusCode != 200 || resp.TLS == nil {
		t.Fatalf("https ping: %v %v", resp, err)
	}
}

func TestServeHealthAndMetrics(t *testing.T) {
	cfg := testConfig(t)
	url := "http://" + cfg.Addr
	cancel, done := startServe(t, cfg, http.DefaultClient, url)
	defer func() { cancel(); <-done }()
	resp, err := http.Get(url + "/healthz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("healthz: %v %v", resp, err)
	}
	http.Get(url + "/v2/nope/manifests/latest")
	resp, err = http.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	for _, want := range []string{
		`berth_registry_http_requests_total{code="404",method="GET",route="manifest"} 1`,
		`berth_registry_http_request_duration_seconds_bucket`,
		`process_resident_memory_bytes`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

// TestGracefulShutdownFinishesUploads starts an upload, begins a shutdown
// while its body is still arriving, and checks the upload completes.
func TestGracefulShutdownFinishesUploads(t *testing.T) {
	cfg := testConfig(t)
	url := "http://" + cfg.Addr
	cancel, done := startServe(t, cfg, http.DefaultClient, url)

	// Fresh connections only: a PATCH sent on a pooled keep-alive
	// connection that the server still counts as idle may be closed by
	// Shutdown before the server reads it, which is HTTP's semantics, not
	// what this test is about.
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Post(url+"/v2/team/app/blobs/uploads/", "", nil)
	if err != nil || resp.StatusCode != http.StatusAccepted {
		t.Fatalf("start upload: %v %v", resp, err)
	}
	loc := resp.Header.Get("Location")
	pr, pw := io.Pipe()
	req, _ := http.NewRequest(http.MethodPatch, url+loc, pr)
	patched := make(chan *http.Response, 1)
	go func() {
		resp, err := client.Do(req)
		if err != nil {
			t.Errorf("PATCH during shutdown: %v", err)
			patched <- nil
			return
		}
		patched <- resp
	}()
	// More than the server's write buffer, so the upload file grows
	// on disk once the handler is really streaming the body.
	first := strings.Repeat("x", 1<<20+10)
	pw.Write([]byte(first))
	deadline := time.Now().Add(10 * time.Second)
	for {
		files, _ := filepath.Glob(filepath.Join(cfg.Root, "uploads", "*"))
		if len(files) == 1 {
			if fi, err := os.Stat(files[0]); err == nil && fi.Size() >= 1<<20 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("the upload never reached the server's disk")
		}
		time.Sleep(5 * time.Millisecond) // polling interval
	}

	cancel() // SIGTERM equivalent
	// Wait until the server stops accepting new connections.
	deadline = time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", cfg.Addr, 100*time.Millisecond)
		if err != nil {
			break
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatal("server still accepting connections after shutdown began")
		}
		time.Sleep(10 * time.Millisecond) // polling interval
	}
	select {
	case err := <-done:
		t.Fatalf("server exited with an upload in flight: %v", err)
	default:
	}
	pw.Write([]byte(strings.Repeat("y", 100)))
	pw.Close()
	r := <-patched
	if r == nil || r.StatusCode != http.StatusAccepted || r.Header.Get("Range") != fmt.Sprintf("0-%d", len(first)+100-1) {
		t.Fatalf("in-flight PATCH: %+v", r)
	}
	if err := <-done; err != nil {
		t.Fatalf("serve: %v", err)
	}
}

// TestRegistryServeWiresSignatureChecker: berth registry serve's config
// accepts requireSignature: {keys: [...]} (the checker is internal/trust's),
// which a build without a checker refuses.
func TestRegistryServeWiresSignatureChecker(t *testing.T) {
	dir := t.TempDir()
	key := filepath.Join(dir, "release.pub")
	if err := os.WriteFile(key, []byte("-----BEGIN PUBLIC KEY-----\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "berth-registry.yaml")
	if err := os.WriteFile(file, []byte("root: "+dir+"/data\nrepositories:\n  - match: [\"prod/**\"]\n    requireSignature: {keys: ["+key+"]}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := newRegistryServeCommand()
	if err := cmd.ParseFlags([]string{"--config", file}); err != nil {
		t.Fatal(err)
	}
	f := registry.Flags{ConfigFile: file}
	cfg, err := registryConfig(cmd, &f)
	if err != nil || cfg.SignatureChecker == nil {
		t.Fatalf("load: checker %v, %v", cfg.SignatureChecker, err)
	}
}
