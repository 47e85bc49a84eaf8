package engine

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/proxy/pebbletest"
)

// TestAcceptanceTLSAutoEnvironmentCA: berth.yaml's acme: per environment
// with two real CAs (two pebbles: different roots, different ports). The
// daemon's --acme-* name CA A; the file's top-level acme: sets only an
// email, so a stack brought up without -E gets its certificate from A;
// environment "own" names CA B with its own ca_roots, so the same file
// brought up with -E own gets it from B. Each served chain verifies
// against its own CA's issuing root and not the other's; each CA has its
// own part of the store. An environment with a bad acme: is refused at
// load, naming the file, line and value, and the running stack is left
// as it was. Daemon and proxy started again, both CAs gone, serve both
// certificates without a new order.
func TestAcceptanceTLSAutoEnvironmentCA(t *testing.T) {
	need(t)
	const hostA, hostB = "daemon-ca.berth.test", "env-ca.berth.test"
	httpPort, portA, portB := freePort(t), freePort(t), freePort(t)
	caA := pebbletest.Start(t, pebbletest.Options{HTTPPort: httpPort})
	caB := pebbletest.Start(t, pebbletest.Options{HTTPPort: httpPort})
	work := t.TempDir()
	s := &stackEnv{t: t, work: work, project: "acc-envca",
		root: filepath.Join(work, "root"), runDir: filepath.Join(work, "run"), sock: filepath.Join(work, "berth.sock")}
	s.env = []string{"BERTH_SOCKET=" + s.sock, "BERTH_CACHE=" + filepath.Join(work, "cache")}
	rootsA := s.write("daemon-roots.pem", caA.APIRoots())
	acmeFlags := []string{"--acme-directory", caA.Directory(), "--acme-email", "ops@example.com",
		"--acme-ca-roots", rootsA, "--acme-http-port", fmt.Sprint(httpPort)}
	s.d = startDaemonBin(t, berthBin, s.root, s.runDir, s.sock, acmeFlags...)
	t.Cleanup(func() {
		s.d.cmd.Process.Signal(syscall.SIGKILL)
		<-s.d.done
		if t.Failed() {
			raw, _ := os.ReadFile(filepath.Join(work, "daemon.log"))
			t.Logf("daemon log:\n%s", raw)
		}
	})
	t.Cleanup(func() { s.try("down", "-v", "-p", "acc-envca-a") })
	t.Cleanup(func() { s.try("down", "-v", "-p", "acc-envca-b") })

	bb := buildBusybox(t, s.env, filepath.Join(work, "images"))
	s.write("app/ca/b-roots.pem", caB.APIRoots())
	file := s.write("app/berth.yaml", fmt.Sprintf(`acme:
  email: team@example.com
services:
  web:
    image: oci-layout:%s:bb
    entrypoint: [/bin/sh, -c, "echo hello-${HOST} > /www/index.html && exec httpd -f -p 8080 -h /www"]
    ports: ["127.0.0.1:${PORT}:8080"]
    x-berth-proxy: {hosts: ["${HOST}"], tls: auto}
environments:
  own:
    acme:
      directory: %s
      ca_roots: ca/b-roots.pem
  bad:
    acme: {directory: "http://127.0.0.1:%d/dir"}
`, bb, caB.Directory(), httpPort))
	s.berth("up", "-f", file, "-p", "acc-envca-a", "--set", "PORT="+strconv.Itoa(portA), "--set", "HOST="+hostA)
	s.berth("up", "-f", file, "-E", "own", "-p", "acc-envca-b", "--set", "PORT="+strconv.Itoa(portB), "--set", "HOST="+hostB)

	served := func(host string, port int) ([]*x509.Certificate, error) {
		conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 2 * time.Second}, "tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
			&tls.Config{ServerName: host, InsecureSkipVerify: true})
		if err != nil {
			return nil, err
		}
		defer conn.Close()
		return conn.ConnectionState().PeerCertificates, nil
	}
	verifies := func(chain []*x509.Certificate, host string, roots *x509.CertPool) bool {
		inter := x509.NewCertPool()
		for _, c := range chain[1:] {
			inter.AddCert(c)
		}
		_, err := chain[0].Verify(x509.VerifyOptions{DNSName: host, Roots: roots, Intermediates: inter})
		return err == nil
	}
	rootsOfA, rootsOfB := caA.IssuingRoots(), caB.IssuingRoots()
	serials := map[string]string{}
	for _, tc := range []struct {
		host       string
		port       int
		own, other *x509.CertPool
		which      string
	}{
		{hostA, portA, rootsOfA, rootsOfB, "the daemon's CA (A)"},
		{hostB, portB, rootsOfB, rootsOfA, "environment own's CA (B)"},
	} {
		eventually(t, tc.host+"'s certificate from "+tc.which, 90*time.Second, func() (bool, string) {
			chain, err := served(tc.host, tc.port)
			if err != nil {
				return false, err.Error()
			}
			if !verifies(chain, tc.host, tc.own) {
				return false, "not (yet) issued by " + tc.which + ": issuer " + chain[0].Issuer.CommonName
			}
			if verifies(chain, tc.host, tc.other) {
				t.Fatalf("%s's chain verifies against the other CA's root too", tc.host)
			}
			serials[tc.host] = chain[0].SerialNumber.Text(16)
			return true, ""
		})
	}

	// Each CA's part of the store holds its own host's certificate only.
	for _, tc := range []struct{ directory, host, other string }{
		{caA.Directory(), hostA, hostB}, {caB.Directory(), hostB, hostA},
	} {
		dirs, _ := filepath.Glob(filepath.Join(s.root, "proxy", "acme", "ca", "*"))
		found := false
		for _, d := range dirs {
			if b, _ := os.ReadFile(filepath.Join(d, "directory")); strings.TrimSpace(string(b)) != tc.directory {
				continue
			}
			found = true
			if fi, err := os.Stat(filepath.Join(d, "certs", tc.host+".pem")); err != nil || fi.Mode().Perm() != 0o600 {
				t.Fatalf("%s under %s: %v %v", tc.host, d, fi, err)
			}
			if _, err := os.Stat(filepath.Join(d, "certs", tc.other+".pem")); err == nil {
				t.Fatalf("%s is stored under the CA of %s too", tc.other, tc.directory)
			}
		}
		if !found {
			t.Fatalf("no store directory for %s among %v", tc.directory, dirs)
		}
	}

	// A bad acme: is refused at load, naming file, line and value; the
	// running stack is untouched.
	out := s.berthFail("up", "-f", file, "-E", "bad", "-p", "acc-envca-b", "--set", "PORT="+strconv.Itoa(portB), "--set", "HOST="+hostB)
	if want := fmt.Sprintf(`berth.yaml:15:23: environments.bad.acme.directory: directory "http://127.0.0.1:%d/dir": want an https:// URL`, httpPort); !strings.Contains(out, want) {
		t.Fatalf("bad acme: %s\nwant %s", out, want)
	}
	if chain, err := served(hostB, portB); err != nil || chain[0].SerialNumber.Text(16) != serials[hostB] {
		t.Fatalf("after a refused up, %s serves %v (%v), want serial %s", hostB, chain, err, serials[hostB])
	}

	// Daemon and proxy killed and started again, both CAs gone: the
	// stored certificates are served, nothing is ordered.
	s.d.cmd.Process.Signal(syscall.SIGKILL)
	<-s.d.done
	killProxies(t, s.runDir)
	caA.Stop()
	caB.Stop()
	s.d = startDaemonBin(t, berthBin, s.root, s.runDir, s.sock, acmeFlags...)
	for host, port := range map[string]int{hostA: portA, hostB: portB} {
		eventually(t, host+" after a restart", 60*time.Second, func() (bool, string) {
			chain, err := served(host, port)
			if err != nil {
				return false, err.Error()
			}
			if got := chain[0].SerialNumber.Text(16); got != serials[host] {
				t.Fatalf("after a restart %s serves serial %s, want the stored %s", host, got, serials[host])
			}
			return true, ""
		})
	}
	log, _ := os.ReadFile(filepath.Join(s.root, "proxy", "proxy.log"))
	if n := strings.Count(string(log), "certificate obtained"); n != 2 {
		t.Fatalf("%d certificates obtained over two runs, want 2:\n%s", n, log)
	}
}
