package proxyd

import (
	"io"
	"log/slog"
	"net"
	"os"
	"syscall"
	"testing"

	"github.com/berth-dev/berth/internal/dns"
	"github.com/berth-dev/berth/internal/dns/dnstest"
)

func socketFile(t *testing.T, v syscall.Conn) *os.File {
	t.Helper()
	var f *os.File
	var err error
	switch c := v.(type) {
	case *net.UDPConn:
		f, err = c.File()
	case *net.TCPListener:
		f, err = c.File()
	}
	if err != nil || f == nil {
		t.Fatalf("file of %T: %v", v, err)
	}
	return f
}

// TestInheritedDNSSockets: a zone's handed-over sockets are taken by
// their names, a socket of the wrong kind for its name is refused (and
// bound afresh), and listenDNS claims each once.
func TestInheritedDNSSockets(t *testing.T) {
	addr := dnstest.FreeAddr(t)
	socks, err := dns.Listen(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer socks.Close()
	udpF := socketFile(t, socks.UDP.(*net.UDPConn))
	defer udpF.Close()
	tcpF := socketFile(t, socks.TCP.(*net.TCPListener))
	defer tcpF.Close()

	in := &inherited{lns: map[string]net.Listener{}, dnsUDP: map[string]net.PacketConn{}, dnsTCP: map[string]net.Listener{}}
	if err := in.add(dnsHandoverName("udp", addr), tcpF); err == nil {
		t.Error("a TCP socket taken as a zone's UDP socket")
	}
	if err := in.add(dnsHandoverName("udp", addr), udpF); err != nil {
		t.Fatal(err)
	}
	if err := in.add(dnsHandoverName("tcp", addr), tcpF); err != nil {
		t.Fatal(err)
	}
	if in.count() != 2 {
		t.Fatalf("count = %d, want 2", in.count())
	}
	got, err := in.listenDNS(addr)
	if err != nil {
		t.Fatalf("listenDNS with the inherited sockets: %v", err)
	}
	defer got.Close()
	if got.UDP.LocalAddr().String() != addr || got.TCP.Addr().String() != addr || in.count() != 0 {
		t.Fatalf("listenDNS gave %v and %v, %d left", got.UDP.LocalAddr(), got.TCP.Addr(), in.count())
	}
	// Claimed once: the address is now bound (by got), so binding afresh
	// fails instead of handing out the same sockets twice.
	if _, err := in.listenDNS(addr); err == nil {
		t.Error("listenDNS gave the inherited sockets twice")
	}
	in.closeRest(slog.New(slog.NewTextHandler(io.Discard, nil)))
}

func TestParseDNSHandoverName(t *testing.T) {
	for name, want := range map[string]string{
		"dns/udp/10.89.0.1:53":  "udp 10.89.0.1:53",
		"dns/tcp/10.89.0.1:53":  "tcp 10.89.0.1:53",
		"dns/sctp/10.89.0.1:53": "",
		"dns/udp/":              "",
		"10.89.0.1:53":          "",
		"127.0.0.1:8080":        "",
	} {
		tr, addr, ok := parseDNSHandoverName(name)
		got := ""
		if ok {
			got = tr + " " + addr
		}
		if got != want {
			t.Errorf("parseDNSHandoverName(%q) = %q, want %q", name, got, want)
		}
	}
}
