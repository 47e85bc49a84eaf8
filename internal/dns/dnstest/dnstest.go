// Package dnstest has the helpers the tests of berth's DNS server and of
// its users share: a stand-in upstream resolver, free addresses, answers.
package dnstest

import (
	"net"
	"testing"

	mdns "github.com/miekg/dns"
)

// FakeUpstream is a real DNS server on 127.0.0.1 that answers every A query
// with 192.0.2.99, standing in for the host's resolver. It stops when the
// test ends.
func FakeUpstream(t testing.TB) string {
	t.Helper()
	// The UDP port the kernel picks may already be taken on TCP by another
	// test binary running in parallel, so try a few until both are free.
	var pc net.PacketConn
	var ln net.Listener
	for attempt := 0; ; attempt++ {
		var err error
		pc, err = net.ListenPacket("udp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ln, err = net.Listen("tcp4", pc.LocalAddr().String())
		if err == nil {
			break
		}
		pc.Close()
		if attempt == 20 {
			t.Fatalf("no port free on both udp and tcp: %v", err)
		}
	}
	h := mdns.HandlerFunc(func(w mdns.ResponseWriter, r *mdns.Msg) {
		m := new(mdns.Msg).SetReply(r)
		m.Answer = append(m.Answer, &mdns.A{Hdr: mdns.RR_Header{Name: r.Question[0].Name, Rrtype: mdns.TypeA, Class: mdns.ClassINET, Ttl: 60}, A: net.ParseIP("192.0.2.99")})
		w.WriteMsg(m)
	})
	for _, srv := range []*mdns.Server{{PacketConn: pc, Handler: h}, {Listener: ln, Handler: h}} {
		started := make(chan struct{})
		srv.NotifyStartedFunc = func() { close(started) }
		go srv.ActivateAndServe()
		<-started
		t.Cleanup(func() { srv.Shutdown() })
	}
	return pc.LocalAddr().String()
}

// FreeAddr finds a 127.0.0.1 port free for both UDP and TCP (a DNS server
// needs both; port 0 is not allowed).
func FreeAddr(t testing.TB) string {
	t.Helper()
	for range 20 {
		pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := pc.LocalAddr().String()
		l, err := net.Listen("tcp4", addr)
		pc.Close()
		if err == nil {
			l.Close()
			return addr
		}
	}
	t.Fatal("no port free on both udp and tcp")
	return ""
}

// AnswerIPs lists the A and AAAA addresses of an answer, in order.
func AnswerIPs(m *mdns.Msg) []string {
	var out []string
	for _, rr := range m.Answer {
		switch v := rr.(type) {
		case *mdns.A:
			out = append(out, v.A.String())
		case *mdns.AAAA:
			out = append(out, v.AAAA.String())
		}
	}
	return out
}
