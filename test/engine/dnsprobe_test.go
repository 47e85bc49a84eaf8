package engine

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
	"golang.org/x/sys/unix"
)

// containerDNSProbe resolves a service name the way a container does —
// from a container's network namespace, at its network's gateway — over
// and over while something happens to the proxy process, alternating UDP
// and TCP, each query a single try (no resend, unlike a real resolver)
// with a timeout. It counts answers, failures and the slowest answer.
type containerDNSProbe struct {
	mu       sync.Mutex
	ok       int
	failed   []string
	slowest  time.Duration
	setupErr error
	stop     chan struct{}
	finished chan struct{}
}

// startContainerDNSProbe asks the stack network's DNS server under root
// for name from the first container network namespace under runDir.
func startContainerDNSProbe(t *testing.T, root, runDir, name string, timeout time.Duration) *containerDNSProbe {
	t.Helper()
	gw := net.JoinHostPort(stackGateway(t, root), "53")
	nsFiles, _ := filepath.Glob(filepath.Join(runDir, "netns", "*"))
	if len(nsFiles) == 0 {
		t.Fatalf("no container network namespaces under %s", runDir)
	}
	p := &containerDNSProbe{stop: make(chan struct{}), finished: make(chan struct{})}
	go func() {
		defer close(p.finished)
		// The thread stays in the namespace and is discarded when the
		// goroutine ends (it is never unlocked).
		runtime.LockOSThread()
		ns, err := os.Open(nsFiles[0])
		if err == nil {
			err = unix.Setns(int(ns.Fd()), unix.CLONE_NEWNET)
			ns.Close()
		}
		if err != nil {
			p.mu.Lock()
			p.setupErr = fmt.Errorf("entering %s: %w", nsFiles[0], err)
			p.mu.Unlock()
			return
		}
		for i := 0; ; i++ {
			select {
			case <-p.stop:
				return
			default:
			}
			netw := []string{"udp", "tcp"}[i%2]
			c := &dns.Client{Net: netw, Timeout: timeout}
			start := time.Now()
			r, _, err := c.Exchange(new(dns.Msg).SetQuestion(dns.Fqdn(name), dns.TypeA), gw)
			took := time.Since(start)
			if err == nil && (r.Rcode != dns.RcodeSuccess || len(r.Answer) == 0) {
				err = fmt.Errorf("rcode %s, %d answers", dns.RcodeToString[r.Rcode], len(r.Answer))
			}
			p.mu.Lock()
			if err != nil {
				p.failed = append(p.failed, fmt.Sprintf("%s at %s: %v", netw, start.Format("15:04:05.000"), err))
			} else {
				p.ok++
				p.slowest = max(p.slowest, took)
			}
			p.mu.Unlock()
			time.Sleep(5 * time.Millisecond)
		}
	}()
	return p
}

// waitAnswered waits until the probe has n answers in all.
func (p *containerDNSProbe) waitAnswered(t *testing.T, n int) {
	t.Helper()
	eventually(t, fmt.Sprintf("%d DNS answers in the container", n), 20*time.Second, func() (bool, string) {
		p.mu.Lock()
		defer p.mu.Unlock()
		if p.setupErr != nil {
			t.Fatal(p.setupErr)
		}
		return p.ok >= n, fmt.Sprintf("%d answered, failures: %v", p.ok, p.failed)
	})
}

func (p *containerDNSProbe) answered() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.ok
}

// end stops the probe and returns what it saw.
func (p *containerDNSProbe) end() (ok int, failed []string, slowest time.Duration) {
	close(p.stop)
	<-p.finished
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.ok, p.failed, p.slowest
}
