//go:build linux

package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptrace"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"time"
)

// browser is an HTTP client that logs in to the console as a browser
// does: a cookie jar, the login form's CSRF token, no redirects followed.
type browser struct {
	base   string
	client *http.Client
}

func newBrowser(base string) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{base: base, client: &http.Client{
		Jar:           jar,
		Transport:     &http.Transport{MaxIdleConnsPerHost: 16, DisableCompression: true, Proxy: nil},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

var csrfField = regexp.MustCompile(`name="csrf" value="([0-9a-f]+)"`)

// login fills in and posts the login form.
func (b *browser) login(ctx context.Context, user, password string) error {
	page, status, err := b.get(ctx, "/login")
	if err != nil {
		return err
	}
	m := csrfField.FindStringSubmatch(page)
	if status != http.StatusOK || m == nil {
		return fmt.Errorf("GET /login: HTTP %d, CSRF field found: %t", status, m != nil)
	}
	form := url.Values{"csrf": {m[1]}, "user": {user}, "password": {password}, "next": {"/"}}
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, b.base+"/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := b.client.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		return fmt.Errorf("POST /login: HTTP %d, want 303", resp.StatusCode)
	}
	return nil
}

func (b *browser) get(ctx context.Context, path string) (string, int, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, b.base+path, nil)
	resp, err := b.client.Do(req)
	if err != nil {
		return "", 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return string(body), resp.StatusCode, err
}

// page is one kind of page and what its body must contain.
type page struct {
	Name string `json:"name"`
	Path string `json:"path"`
	Want string `json:"-"`
}

// firstByte GETs path and returns the time from just before the request
// was written until the response's first byte, and the whole body.
func (b *browser) firstByte(ctx context.Context, p page) (time.Duration, int, error) {
	var start, first time.Time
	trace := &httptrace.ClientTrace{
		WroteHeaders:         func() { start = time.Now() },
		GotFirstResponseByte: func() { first = time.Now() },
	}
	req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(ctx, trace), http.MethodGet, b.base+p.Path, nil)
	resp, err := b.client.Do(req)
	if err != nil {
		return 0, 0, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return 0, 0, err
	}
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), p.Want) {
		return 0, 0, fmt.Errorf("GET %s: HTTP %d, %d bytes, %q in the body: %t", p.Path, resp.StatusCode, len(body), p.Want, strings.Contains(string(body), p.Want))
	}
	return first.Sub(start), len(body), nil
}

// subscription is one open event stream, read to the end.
type subscription struct {
	events atomic.Int64
	bytes  atomic.Int64
	opened chan struct{} // closed when the first event arrived
	done   chan struct{}
	err    error
}

// subscribe opens the event stream at path; it runs until ctx ends.
func (b *browser) subscribe(ctx context.Context, path string) (*subscription, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, b.base+path, nil)
	req.Header.Set("Accept", "text/event-stream")
	resp, err := b.client.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
		resp.Body.Close()
		return nil, fmt.Errorf("GET %s: HTTP %d, %s", path, resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	s := &subscription{opened: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 64<<10), 4<<20)
		first := true
		for sc.Scan() {
			s.bytes.Add(int64(len(sc.Bytes()) + 1))
			if strings.HasPrefix(sc.Text(), "event: ") {
				s.events.Add(1)
				if first {
					first = false
					close(s.opened)
				}
			}
		}
		if ctx.Err() == nil {
			s.err = fmt.Errorf("GET %s: the stream ended: %v", path, sc.Err())
		}
	}()
	return s, nil
}

// waitFirst waits for the stream's first event.
func (s *subscription) waitFirst(timeout time.Duration) error {
	select {
	case <-s.opened:
		return nil
	case <-s.done:
		return fmt.Errorf("the stream ended before its first event: %v", s.err)
	case <-time.After(timeout):
		return fmt.Errorf("no event in %s", timeout)
	}
}
