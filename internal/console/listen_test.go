package console

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestListenServesAndLogsTheToken(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	stop, err := Listen(Access{Addr: "127.0.0.1:0"}, Ports{Registry: newFake()}, log)
	if err != nil {
		t.Fatal(err)
	}
	defer stop(context.Background())
	m := regexp.MustCompile(`url=(http://127\.0\.0\.1:\d+/) token=([0-9a-f]{64})`).FindStringSubmatch(buf.String())
	if m == nil {
		t.Fatalf("no url and one-time token logged: %s", buf.String())
	}
	c := &http.Client{Timeout: 5 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(m[1] + "registry")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/login") {
		t.Errorf("a page without a session: %d to %q, want the login page", resp.StatusCode, resp.Header.Get("Location"))
	}

	// The address taken: the error names the flag and the address.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if _, err := Listen(Access{Addr: l.Addr().String()}, Ports{Registry: newFake()}, log); err == nil || !strings.Contains(err.Error(), "--console "+l.Addr().String()) {
		t.Errorf("address in use: %v", err)
	}
	if _, err := Listen(Access{Addr: "127.0.0.1:0", Users: "/nonexistent/users"}, Ports{Registry: newFake()}, log); err == nil {
		t.Error("a missing users file was accepted")
	}
}

// The start warns of plain HTTP beyond loopback, and of anonymous reading
// beyond it; on loopback it warns of nothing.
func TestListenWarnings(t *testing.T) {
	lo := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 9090}
	wide := &net.TCPAddr{IP: net.IPv4(192, 0, 2, 7), Port: 9090}
	if w := warnings(lo, true); len(w) != 0 {
		t.Errorf("loopback with anonymous reading: %q, want no warning", w)
	}
	if w := warnings(wide, false); len(w) != 1 || !strings.Contains(w[0], "plain HTTP") {
		t.Errorf("beyond loopback: %q, want the plain HTTP warning", w)
	}
	w := warnings(wide, true)
	if len(w) != 2 || !strings.Contains(w[1], "--console-anonymous-read") || !strings.Contains(w[1], "without logging in") {
		t.Errorf("beyond loopback with anonymous reading: %q, want its warning", w)
	}
	if w := warnings(&net.TCPAddr{IP: net.IPv6zero, Port: 9090}, true); len(w) != 2 {
		t.Errorf("all addresses ([::]) with anonymous reading: %q, want both warnings", w)
	}
}

// Listen passes anonymous reading on: a page reads without a session.
func TestListenAnonymousRead(t *testing.T) {
	var buf bytes.Buffer
	stop, err := Listen(Access{Addr: "127.0.0.1:0", AnonymousRead: true}, Ports{Registry: newFake()}, slog.New(slog.NewTextHandler(&buf, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer stop(context.Background())
	m := regexp.MustCompile(`url=(http://127\.0\.0\.1:\d+/)`).FindStringSubmatch(buf.String())
	if m == nil || !strings.Contains(buf.String(), "anonymous_read=true") {
		t.Fatalf("no url or anonymous_read=true logged: %s", buf.String())
	}
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Get(m[1] + "registry")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("a page without a session, anonymous reading on: %s, want 200", resp.Status)
	}
}
