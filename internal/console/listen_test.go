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
	stop, err := Listen("127.0.0.1:0", "", Ports{Registry: newFake()}, log)
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
	if _, err := Listen(l.Addr().String(), "", Ports{Registry: newFake()}, log); err == nil || !strings.Contains(err.Error(), "--console "+l.Addr().String()) {
		t.Errorf("address in use: %v", err)
	}
	if _, err := Listen("127.0.0.1:0", "/nonexistent/users", Ports{Registry: newFake()}, log); err == nil {
		t.Error("a missing users file was accepted")
	}
}
