package dns

import (
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	mdns "github.com/miekg/dns"

	"github.com/berth-dev/berth/internal/dns/dnstest"
)

// TestServeOnHandedOverSockets: a second server serving duplicates of a
// running server's sockets (what another process inherits) answers on
// the same address after the first one stopped, over UDP and TCP,
// without binding anything.
func TestServeOnHandedOverSockets(t *testing.T) {
	addr := dnstest.FreeAddr(t)
	first := startDNS(t, addr, nil)
	udpF, tcpF, err := first.Files()
	if err != nil {
		t.Fatal(err)
	}
	pc, err := net.FilePacketConn(udpF)
	udpF.Close()
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.FileListener(tcpF)
	tcpF.Close()
	if err != nil {
		t.Fatal(err)
	}
	second, err := NewServer(addr, "mystack", func(name string) []net.IP {
		if name == "web" {
			return []net.IP{net.ParseIP("10.89.7.9")}
		}
		return nil
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := second.Serve(Sockets{UDP: pc, TCP: ln}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { second.Stop() })
	if err := first.Stop(); err != nil {
		t.Fatal(err)
	}
	for _, netw := range []string{"udp", "tcp"} {
		if r := query(t, netw, addr, "web", mdns.TypeA); strings.Join(dnstest.AnswerIPs(r), ",") != "10.89.7.9" {
			t.Errorf("%s after the first server stopped: %v", netw, r)
		}
	}
	if _, _, err := first.Files(); err == nil {
		t.Error("Files of a stopped server succeeded")
	}
	if err := second.Serve(Sockets{UDP: pc, TCP: ln}); err == nil {
		t.Error("Serve of a running server succeeded")
	}
}

func TestServeWantsBothSockets(t *testing.T) {
	s, err := NewServer("127.0.0.1:53", "s", func(string) []net.IP { return nil }, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Serve(Sockets{}); err == nil || !strings.Contains(err.Error(), "want both") {
		t.Fatalf("Serve without sockets: %v", err)
	}
}

// TestSetDomain: the zone's domain changes on the running server.
func TestSetDomain(t *testing.T) {
	addr := dnstest.FreeAddr(t)
	s := startDNS(t, addr, nil)
	if err := s.SetDomain("Blog."); err != nil {
		t.Fatal(err)
	}
	if s.Domain() != "blog" {
		t.Errorf("Domain() = %q", s.Domain())
	}
	if r := query(t, "udp", addr, "db.blog", mdns.TypeA); len(dnstest.AnswerIPs(r)) != 1 {
		t.Errorf("db.blog: %v", r)
	}
	if r := query(t, "udp", addr, "db.mystack", mdns.TypeA); r.Rcode != mdns.RcodeServerFailure {
		t.Errorf("db.mystack, no longer the zone and no upstream: rcode %s, want SERVFAIL", mdns.RcodeToString[r.Rcode])
	}
	if err := s.SetDomain("bad..name"); err == nil || s.Domain() != "blog" {
		t.Errorf("SetDomain(bad..name) = %v, domain now %q", err, s.Domain())
	}
}

// TestStopAnswersQueryOnAcceptedConnection: a query on a TCP connection
// the server already accepted is answered even when it arrives as Stop
// runs — an upgrade hands the listening socket to the next process, but
// a connection this one accepted can only be answered here. (miekg/dns's
// Shutdown unblocks every connection's read at once: a query already
// sent but not yet read was dropped and the client saw a reset.)
func TestStopAnswersQueryOnAcceptedConnection(t *testing.T) {
	addr := dnstest.FreeAddr(t)
	s, err := NewServer(addr, "shop", func(name string) []net.IP {
		if name == "web" {
			return []net.IP{net.ParseIP("10.89.0.2")}
		}
		return nil
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	conn, err := mdns.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ask := func() error {
		conn.SetDeadline(time.Now().Add(5 * time.Second))
		if err := conn.WriteMsg(new(mdns.Msg).SetQuestion("web.", mdns.TypeA)); err != nil {
			return err
		}
		r, err := conn.ReadMsg()
		if err != nil {
			return err
		}
		if ips := dnstest.AnswerIPs(r); len(ips) != 1 || ips[0] != "10.89.0.2" {
			return fmt.Errorf("answer %v", r)
		}
		return nil
	}
	// The first answer proves the server accepted the connection and
	// waits on it for the next query.
	if err := ask(); err != nil {
		t.Fatal(err)
	}
	stopped := make(chan error, 1)
	go func() { stopped <- s.Stop() }()
	// Stop closes the listener before it unblocks the connections: once
	// a new connection is refused, Stop is under way.
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			break
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatal("the listener still accepts 5 s after Stop")
		}
		time.Sleep(time.Millisecond)
	}
	if err := ask(); err != nil {
		t.Fatalf("query sent on an accepted connection while the server stops: %v", err)
	}
	select {
	case err := <-stopped:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Stop did not return")
	}
}
