package proxyd

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	mdns "github.com/miekg/dns"

	"github.com/berth-dev/berth/internal/dns/dnstest"
	"github.com/berth-dev/berth/internal/proxy"
)

// dnsConfig is a config with one DNS zone on addr: web → 10.89.0.2.
func dnsConfig(addr, domain string) proxy.Config {
	return proxy.Config{DNS: []proxy.DNSZone{{Addr: addr, Domain: domain, Names: map[string][]string{"web": {"10.89.0.2"}}}}}
}

// dnsProbe asks one server for "web" over and over, alternating UDP and
// TCP, each query a single try (no resend) with a timeout, and counts the
// answers, the failures and the slowest answer.
type dnsProbe struct {
	mu       sync.Mutex
	ok       int
	failed   []string
	slowest  time.Duration
	stop     chan struct{}
	finished chan struct{}
}

func probeDNS(server string, timeout time.Duration) *dnsProbe {
	p := &dnsProbe{stop: make(chan struct{}), finished: make(chan struct{})}
	go func() {
		defer close(p.finished)
		for i := 0; ; i++ {
			select {
			case <-p.stop:
				return
			default:
			}
			netw := []string{"udp", "tcp"}[i%2]
			c := &mdns.Client{Net: netw, Timeout: timeout}
			start := time.Now()
			r, _, err := c.Exchange(new(mdns.Msg).SetQuestion("web.", mdns.TypeA), server)
			took := time.Since(start)
			if err == nil && (len(dnstest.AnswerIPs(r)) != 1 || dnstest.AnswerIPs(r)[0] != "10.89.0.2") {
				err = fmt.Errorf("answer %v", r)
			}
			p.mu.Lock()
			if err != nil {
				p.failed = append(p.failed, fmt.Sprintf("%s at %s: %v", netw, start.Format("15:04:05.000"), err))
			} else {
				p.ok++
				p.slowest = max(p.slowest, took)
			}
			p.mu.Unlock()
			time.Sleep(2 * time.Millisecond)
		}
	}()
	return p
}

func (p *dnsProbe) answered() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.ok
}

// waitAnswered polls until the probe has n answers.
func (p *dnsProbe) waitAnswered(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for p.answered() < n {
		if time.Now().After(deadline) {
			p.mu.Lock()
			defer p.mu.Unlock()
			t.Fatalf("DNS probe: %d answered, want %d; failures: %v", p.ok, n, p.failed)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (p *dnsProbe) end() (ok int, failed []string, slowest time.Duration) {
	close(p.stop)
	<-p.finished
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.ok, p.failed, p.slowest
}

// TestUpgradeKeepsDNSAnswering: across an Upgrade the zones' sockets are
// handed to the new process, which answers on them alongside the old one:
// no query, over UDP or TCP, goes unanswered — there is no moment when the
// old process has exited and the new one has not bound.
func TestUpgradeKeepsDNSAnswering(t *testing.T) {
	o := ensureOptions(t, t.TempDir())
	o.Holder = &Holder{}
	t.Cleanup(o.Holder.Close)
	p := startProxy(t, o)
	addr := dnstest.FreeAddr(t)
	if err := p.client.Hold(o.Holder).Apply(ctxT(t, 5*time.Second), dnsConfig(addr, "shop")); err != nil {
		t.Fatal(err)
	}
	if got, want := o.Holder.Addrs(), []string{"dns/tcp/" + addr, "dns/udp/" + addr}; !slices.Equal(got, want) {
		t.Fatalf("holder holds %v, want %v", got, want)
	}
	oldPID := p.pid(t)
	probe := probeDNS(addr, time.Second)
	probe.waitAnswered(t, 50)
	c, err := Upgrade(ctxT(t, 20*time.Second), o)
	if err != nil {
		probe.end()
		t.Fatalf("Upgrade: %v", err)
	}
	if alive(oldPID) {
		t.Fatalf("the old proxy %d still runs", oldPID)
	}
	// Answered by the new process alone now (no push since the upgrade).
	probe.waitAnswered(t, probe.answered()+50)
	ok, failed, slowest := probe.end()
	t.Logf("DNS across the upgrade: %d answered, %d failed, slowest %s", ok, len(failed), slowest)
	if len(failed) != 0 {
		t.Errorf("%d queries failed across the upgrade: %v", len(failed), failed)
	}
	if h, err := c.Health(ctxT(t, 5*time.Second)); err != nil || h.PID == oldPID {
		t.Fatalf("after Upgrade: %+v, %v", h, err)
	}
}

// TestKilledProxyKeepsDNSQueries: with the daemon's Holder keeping the
// DNS sockets, a kill -9 of the proxy loses no query sent while no proxy
// runs: a UDP query waits in the socket's receive queue and a TCP
// connection in its backlog, and the restarted proxy answers both. Without
// a holder the same UDP query is refused (ICMP port unreachable).
func TestKilledProxyKeepsDNSQueries(t *testing.T) {
	for _, held := range []bool{true, false} {
		t.Run(fmt.Sprintf("held=%v", held), func(t *testing.T) {
			o := ensureOptions(t, t.TempDir())
			if held {
				o.Holder = &Holder{}
				t.Cleanup(o.Holder.Close)
			}
			p := startProxy(t, o)
			addr := dnstest.FreeAddr(t)
			var router interface {
				Apply(context.Context, proxy.Config) error
			} = p.client
			if held {
				router = p.client.Hold(o.Holder)
			}
			if err := router.Apply(ctxT(t, 5*time.Second), dnsConfig(addr, "shop")); err != nil {
				t.Fatal(err)
			}
			pid := p.pid(t)
			syscall.Kill(pid, syscall.SIGKILL)
			waitGone(t, pid)
			waitNotRunning(t, p.client)

			query := new(mdns.Msg).SetQuestion("web.", mdns.TypeA)
			uc, err := mdns.Dial("udp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer uc.Close()
			if !held {
				// The kernel closes the killed process's sockets a moment
				// after it is gone; then nothing answers.
				deadline := time.Now().Add(5 * time.Second)
				for {
					uc.SetDeadline(time.Now().Add(200 * time.Millisecond))
					err := uc.WriteMsg(query)
					if err == nil {
						_, err = uc.ReadMsg()
					}
					if errors.Is(err, syscall.ECONNREFUSED) {
						return
					}
					if time.Now().After(deadline) {
						t.Fatalf("without a holder a query after the kill still gets %v, want connection refused", err)
					}
				}
			}
			if err := uc.WriteMsg(query); err != nil {
				t.Fatal(err)
			}
			tc, err := net.DialTimeout("tcp", addr, time.Second)
			if err != nil {
				t.Fatalf("TCP connect to the DNS address while no proxy runs: %v", err)
			}
			defer tc.Close()
			tconn := &mdns.Conn{Conn: tc}
			if err := tconn.WriteMsg(query); err != nil {
				t.Fatal(err)
			}
			if _, err := Ensure(ctxT(t, 10*time.Second), o); err != nil {
				t.Fatal(err)
			}
			for name, c := range map[string]*mdns.Conn{"udp": uc, "tcp": tconn} {
				c.SetDeadline(time.Now().Add(10 * time.Second))
				r, err := c.ReadMsg()
				if err != nil {
					t.Fatalf("the %s query sent while no proxy ran: %v", name, err)
				}
				if ips := dnstest.AnswerIPs(r); strings.Join(ips, ",") != "10.89.0.2" {
					t.Fatalf("the %s query sent while no proxy ran: %v", name, r)
				}
			}
		})
	}
}

// TestKilledProxyDNSGap measures what a steady resolver sees while the
// proxy is killed and restarted at once (as the daemon's supervisor
// does): at most the one query the killed process had read and not yet
// answered is lost (the client's retry covers it), every other one is
// answered, late by the restart time at most.
func TestKilledProxyDNSGap(t *testing.T) {
	o := ensureOptions(t, t.TempDir())
	o.Holder = &Holder{}
	t.Cleanup(o.Holder.Close)
	p := startProxy(t, o)
	addr := dnstest.FreeAddr(t)
	if err := p.client.Hold(o.Holder).Apply(ctxT(t, 5*time.Second), dnsConfig(addr, "shop")); err != nil {
		t.Fatal(err)
	}
	probe := probeDNS(addr, 2*time.Second)
	probe.waitAnswered(t, 50)
	pid := p.pid(t)
	killed := time.Now()
	syscall.Kill(pid, syscall.SIGKILL)
	// The daemon's supervisor restarts the proxy when its connection to
	// the API socket closes, which happens as the killed process's last
	// threads exit.
	waitGone(t, pid)
	waitNotRunning(t, p.client)
	if _, err := Ensure(ctxT(t, 10*time.Second), o); err != nil {
		probe.end()
		t.Fatal(err)
	}
	restarted := time.Since(killed)
	probe.waitAnswered(t, probe.answered()+50)
	ok, failed, slowest := probe.end()
	t.Logf("DNS across a kill -9 and restart (%s): %d answered, %d failed %v, slowest answer %s", restarted, ok, len(failed), failed, slowest)
	if len(failed) > 1 {
		t.Errorf("%d queries failed across the kill, want at most 1: %v", len(failed), failed)
	}
}

// TestDNSZoneNewDomainSameAddrWithHolder: a zone whose address stays but
// whose domain changes (one stack's network removed, another's created on
// the same subnet, in one push) keeps its sockets, so the holder's
// duplicates cannot make rebinding the address fail.
func TestDNSZoneNewDomainSameAddrWithHolder(t *testing.T) {
	o := ensureOptions(t, t.TempDir())
	o.Holder = &Holder{}
	t.Cleanup(o.Holder.Close)
	p := startProxy(t, o)
	addr := dnstest.FreeAddr(t)
	held := p.client.Hold(o.Holder)
	if err := held.Apply(ctxT(t, 5*time.Second), dnsConfig(addr, "shop")); err != nil {
		t.Fatal(err)
	}
	if err := held.Apply(ctxT(t, 5*time.Second), dnsConfig(addr, "blog")); err != nil {
		t.Fatalf("the same address with another domain: %v", err)
	}
	if ips, _ := lookupA(t, addr, "web.blog"); strings.Join(ips, ",") != "10.89.0.2" {
		t.Errorf("web.blog: %v", ips)
	}
	if cfg, err := p.client.Config(ctxT(t, 5*time.Second)); err != nil || len(cfg.DNS) != 1 || cfg.DNS[0].Domain != "blog" {
		t.Errorf("config after the change: %+v, %v", cfg.DNS, err)
	}
}
