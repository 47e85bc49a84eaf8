package engine

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/proxy/pebbletest"
)

// TestAcceptanceTLSAuto: a daemon with --acme-* settings pointing at a
// real ACME CA (pebble, on loopback) and a service with x-berth-proxy
// tls: auto: the proxy gets a certificate over HTTP-01 on its own
// --acme-http-port listener, serves the service over HTTPS with it (the
// client trusting pebble's root), redirects plain HTTP there, shows it in
// berth ps, keeps it 0600 under the daemon's root, and a daemon and proxy
// started again serve the same certificate without a new order.
func TestAcceptanceTLSAuto(t *testing.T) {
	need(t)
	const host = "shop.berth.test"
	httpPort, httpsPort := freePort(t), freePort(t)
	ca := pebbletest.Start(t, pebbletest.Options{HTTPPort: httpPort})
	work := t.TempDir()
	s := &stackEnv{t: t, work: work, project: "acc-tls",
		root: filepath.Join(work, "root"), runDir: filepath.Join(work, "run"), sock: filepath.Join(work, "berth.sock")}
	s.env = []string{"BERTH_SOCKET=" + s.sock, "BERTH_CACHE=" + filepath.Join(work, "cache")}
	roots := s.write("acme-roots.pem", ca.APIRoots())
	acmeFlags := []string{"--acme-directory", ca.Directory(), "--acme-email", "ops@example.com",
		"--acme-ca-roots", roots, "--acme-http-port", fmt.Sprint(httpPort)}
	s.d = startDaemonBin(t, berthBin, s.root, s.runDir, s.sock, acmeFlags...)
	t.Cleanup(func() {
		s.d.cmd.Process.Signal(syscall.SIGKILL)
		<-s.d.done
		if t.Failed() {
			raw, _ := os.ReadFile(filepath.Join(work, "daemon.log"))
			t.Logf("daemon log:\n%s", raw)
		}
	})
	t.Cleanup(func() { s.try("down", "-v", "-p", s.project) })

	bb := buildBusybox(t, s.env, filepath.Join(work, "images"))
	s.up(fmt.Sprintf(`services:
  web:
    image: oci-layout:%s:bb
    entrypoint: [/bin/sh, -c, "echo hello-tls > /www/index.html && exec httpd -f -p 8080 -h /www"]
    ports: ["127.0.0.1:%d:8080"]
    x-berth-proxy: {hosts: [%s], tls: auto}
`, bb, httpsPort, host))

	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		_, port, _ := net.SplitHostPort(addr)
		return (&net.Dialer{Timeout: 2 * time.Second}).DialContext(ctx, network, net.JoinHostPort("127.0.0.1", port))
	}
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: ca.IssuingRoots()}, DialContext: dial, DisableKeepAlives: true}}
	httpsURL := fmt.Sprintf("https://%s:%d/", host, httpsPort)
	var serial string
	eventually(t, "HTTPS with a certificate from pebble", 90*time.Second, func() (bool, string) {
		resp, err := client.Get(httpsURL)
		if err != nil {
			return false, err.Error()
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || strings.TrimSpace(string(body)) != "hello-tls" {
			return false, fmt.Sprintf("%d %s", resp.StatusCode, body)
		}
		serial = resp.TLS.PeerCertificates[0].SerialNumber.Text(16)
		return true, ""
	})

	noFollow := *client
	noFollow.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := noFollow.Get(fmt.Sprintf("http://%s:%d/x?y=1", host, httpPort))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if want := fmt.Sprintf("https://%s:%d/x?y=1", host, httpsPort); resp.StatusCode != http.StatusPermanentRedirect || resp.Header.Get("Location") != want {
		t.Fatalf("plain HTTP: %d %q, want 308 to %s", resp.StatusCode, resp.Header.Get("Location"), want)
	}

	if out := s.berth("ps", "-p", s.project); !strings.Contains(out, host) || !strings.Contains(out, " ok") {
		t.Fatalf("berth ps does not show the certificate:\n%s", out)
	}
	// Under the CA's part of the store (ca/<host>-<hash of the directory>).
	certs, _ := filepath.Glob(filepath.Join(s.root, "proxy", "acme", "ca", "*", "certs", host+".pem"))
	if len(certs) != 1 {
		t.Fatalf("stored certificates of %s: %v, want one", host, certs)
	}
	if fi, err := os.Stat(certs[0]); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("stored certificate %s: %v %v", certs[0], fi, err)
	}

	// Daemon and proxy killed and started again, the CA gone: the stored
	// certificate is served, nothing is ordered.
	s.d.cmd.Process.Signal(syscall.SIGKILL)
	<-s.d.done
	killProxies(t, s.runDir)
	ca.Stop()
	s.d = startDaemonBin(t, berthBin, s.root, s.runDir, s.sock, acmeFlags...)
	eventually(t, "HTTPS after a restart", 60*time.Second, func() (bool, string) {
		resp, err := client.Get(httpsURL)
		if err != nil {
			return false, err.Error()
		}
		resp.Body.Close()
		if got := resp.TLS.PeerCertificates[0].SerialNumber.Text(16); got != serial {
			t.Fatalf("after a restart the proxy serves serial %s, want the stored %s", got, serial)
		}
		return resp.StatusCode == 200, fmt.Sprint(resp.StatusCode)
	})
	log, _ := os.ReadFile(filepath.Join(s.root, "proxy", "proxy.log"))
	if n := strings.Count(string(log), "certificate obtained"); n != 1 {
		t.Fatalf("%d certificates obtained over two runs, want 1:\n%s", n, log)
	}
}
