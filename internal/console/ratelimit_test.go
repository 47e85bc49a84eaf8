package console

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeClock is a clock a test moves.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// Five failed logins of a user within the window: the sixth attempt, even
// with the right password, answers 429 with Retry-After and checks
// nothing; once the window has passed the right password logs in.
func TestLoginThrottledPerUser(t *testing.T) {
	ts, _, s := newTestServer(t)
	clock := &fakeClock{t: time.Unix(1700000000, 0)}
	s.limiter.now = clock.now
	try := func(user, password string) *http.Response {
		t.Helper()
		c := client(t)
		m := csrfField.FindStringSubmatch(get(t, c, ts.URL+"/login", http.StatusOK))
		resp, err := c.PostForm(ts.URL+"/login", url.Values{"csrf": {m[1]}, "user": {user}, "password": {password}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	for i := range loginsPerUser {
		if r := try("ops", "wrong"); r.StatusCode != http.StatusUnauthorized {
			t.Fatalf("failed login %d: %s, want 401", i+1, r.Status)
		}
	}
	clock.add(time.Minute)
	r := try("ops", testPassword)
	if r.StatusCode != http.StatusTooManyRequests || r.Header.Get("Retry-After") != "240" {
		t.Fatalf("the right password after %d failures: %s, Retry-After %q; want 429 and 240 (seconds left of the window)", loginsPerUser, r.Status, r.Header.Get("Retry-After"))
	}
	// Another user from the same address is not locked out by ops's
	// failures (the address has room left).
	if r := try("dev", "wrong"); r.StatusCode != http.StatusUnauthorized {
		t.Errorf("another user: %s, want 401 (a plain failure)", r.Status)
	}
	clock.add(loginWindow)
	if r := try("ops", testPassword); r.StatusCode != http.StatusSeeOther {
		t.Errorf("the right password after the window: %s, want a login", r.Status)
	}
}

// A client trying many user names (or the token) is throttled by its
// address; one from another address is not.
func TestLoginThrottledPerAddress(t *testing.T) {
	l := newLoginLimiter()
	clock := &fakeClock{t: time.Unix(1700000000, 0)}
	l.now = clock.now
	for i := range loginsPerAddress {
		if _, ok := l.begin(loginKeys("192.0.2.1:40000", fmt.Sprintf("user%d", i))); !ok {
			t.Fatalf("attempt %d refused", i+1)
		}
	}
	if wait, ok := l.begin(loginKeys("192.0.2.1:40001", "")); ok || wait != loginWindow {
		t.Errorf("a token attempt after %d failures from the address: ok=%v wait %s, want refused for %s", loginsPerAddress, ok, wait, loginWindow)
	}
	if _, ok := l.begin(loginKeys("192.0.2.2:40000", "user0")); !ok {
		t.Error("another address was refused")
	}
	// An IPv6 client counts by its /64: another address of the same
	// network is the same client.
	for range loginsPerAddress {
		l.begin(loginKeys("[2001:db8:1:2::5]:40000", ""))
	}
	if _, ok := l.begin(loginKeys("[2001:db8:1:2:ffff::9]:40000", "")); ok {
		t.Error("another address of the same IPv6 /64 was not throttled")
	}
	if _, ok := l.begin(loginKeys("[2001:db8:1:3::5]:40000", "")); !ok {
		t.Error("an address of another /64 was throttled")
	}
	// The user name counts across addresses: a distributed guess of one
	// user's password stops at loginsPerUser.
	for i := range loginsPerUser {
		l.begin(loginKeys(fmt.Sprintf("198.51.100.%d:1", i), "ops"))
	}
	if _, ok := l.begin(loginKeys("198.51.100.200:1", "ops")); ok {
		t.Error("a user's failures from many addresses were not throttled")
	}
}

// Concurrent attempts cannot slip past the limit: begin counts before the
// password is checked.
func TestLoginThrottleConcurrent(t *testing.T) {
	l := newLoginLimiter()
	var wg sync.WaitGroup
	var mu sync.Mutex
	passed := 0
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, ok := l.begin(loginKeys("192.0.2.1:1", "ops")); ok {
				mu.Lock()
				passed++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if passed != loginsPerUser {
		t.Errorf("%d of 50 concurrent attempts passed, want %d", passed, loginsPerUser)
	}
	// A login that works is forgiven: it does not count.
	l2 := newLoginLimiter()
	for range loginsPerUser * 3 {
		keys := loginKeys("192.0.2.1:1", "ops")
		if _, ok := l2.begin(keys); !ok {
			t.Fatal("successful logins were counted as failures")
		}
		l2.succeeded(keys)
	}
}

// The table is bounded: a flood of addresses fills it to limiterKeys, then
// shares one overflow entry (throttled as one client); expired entries go.
func TestLoginThrottleBoundedMemory(t *testing.T) {
	l := newLoginLimiter()
	clock := &fakeClock{t: time.Unix(1700000000, 0)}
	l.now = clock.now
	addr := func(i int) string { return fmt.Sprintf("10.%d.%d.%d:1", i>>16&255, i>>8&255, i&255) }
	for i := range limiterKeys + 5000 {
		l.begin(loginKeys(addr(i), ""))
	}
	if n := len(l.m); n > limiterKeys+1 {
		t.Fatalf("%d entries after a flood of %d addresses, want at most %d", n, limiterKeys+5000, limiterKeys+1)
	}
	if _, ok := l.m[overflowKey]; !ok {
		t.Fatal("no overflow entry with the table full")
	}
	if _, ok := l.begin(loginKeys("192.0.2.99:1", "")); ok {
		t.Error("a new address while the table is full and its overflow used up was let through")
	}
	// The window passes: the next new key sweeps the expired entries.
	clock.add(loginWindow + time.Second)
	if _, ok := l.begin(loginKeys("192.0.2.99:1", "")); !ok {
		t.Error("a new address after the flood expired was refused")
	}
	if n := len(l.m); n != 1 {
		t.Errorf("%d entries after the flood expired, want 1", n)
	}
	// A huge user name costs one fixed-size key.
	l.begin(loginKeys("192.0.2.1:1", strings.Repeat("x", 60000)))
	for k := range l.m {
		if len(k) > 64 {
			t.Errorf("a key of %d bytes", len(k))
		}
	}
}
