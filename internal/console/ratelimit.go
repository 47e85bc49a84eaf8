package console

import (
	"crypto/sha256"
	"net"
	"strings"
	"sync"
	"time"
)

// Login throttling: at most loginsPerUser failed logins per user name and
// loginsPerAddress per client address within loginWindow; beyond, the
// login answers 429 with Retry-After, without checking the password.
const (
	loginWindow      = 5 * time.Minute
	loginsPerUser    = 5
	loginsPerAddress = 10
	// limiterKeys bounds the table: a flood of addresses or names cannot
	// grow it beyond this. When it is full (after dropping expired
	// entries), new keys share one overflow entry, so the flood is
	// throttled as one client until its entries expire.
	limiterKeys = 10000
	overflowKey = "overflow"
)

// limitKey is one counter a login attempt counts against, and its limit.
type limitKey struct {
	key string
	max int
}

// attempts counts the attempts of one key since start.
type attempts struct {
	n     int
	start time.Time
}

// loginLimiter throttles failed logins. It never sleeps: a throttled login
// is answered at once. Its clock is injectable (tests).
type loginLimiter struct {
	now func() time.Time

	mu        sync.Mutex
	m         map[string]*attempts
	lastSweep time.Time
}

func newLoginLimiter() *loginLimiter {
	return &loginLimiter{now: time.Now, m: map[string]*attempts{}}
}

// loginKeys are the counters a login from remoteAddr (an http.Request's
// RemoteAddr) as user counts against: its address (an IPv6 address by
// its /64, what one host usually has), and the user name ("" for a token
// login, which is 256 random bits: no name to guess). Names are hashed:
// a key's size does not depend on what a client sends.
func loginKeys(remoteAddr, user string) []limitKey {
	keys := []limitKey{{"addr " + clientAddr(remoteAddr), loginsPerAddress}}
	if user != "" {
		sum := sha256.Sum256([]byte(user))
		keys = append(keys, limitKey{"user " + string(sum[:16]), loginsPerUser})
	}
	return keys
}

// clientAddr is the address part of remoteAddr, IPv6 addresses cut to
// their /64.
func clientAddr(remoteAddr string) string {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		host = remoteAddr
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	if ip == nil {
		return host
	}
	if ip4 := ip.To4(); ip4 != nil {
		return ip4.String()
	}
	return ip.Mask(net.CIDRMask(64, 128)).String() + "/64"
}

// begin counts one login attempt against keys, unless one of them has
// used up its attempts in the window: then it counts nothing and returns
// how long until the window ends. Counting before the password is
// checked keeps the limit exact under concurrent logins; a login that
// works is forgiven (succeeded).
func (l *loginLimiter) begin(keys []limitKey) (time.Duration, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	var wait time.Duration
	entries := make([]*attempts, len(keys))
	for i, k := range keys {
		e := l.entry(k.key, now)
		entries[i] = e
		if e.n >= k.max {
			wait = max(wait, e.start.Add(loginWindow).Sub(now))
		}
	}
	if wait > 0 {
		return wait, false
	}
	for _, e := range entries {
		e.n++
	}
	return 0, true
}

// succeeded forgives the attempt begin counted for a login that worked.
func (l *loginLimiter) succeeded(keys []limitKey) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, k := range keys {
		if e, ok := l.m[k.key]; ok && e.n > 0 {
			e.n--
		}
	}
}

// entry returns key's live entry, making it (or the overflow entry when
// the table is full) if need be. l.mu is held.
func (l *loginLimiter) entry(key string, now time.Time) *attempts {
	if e, ok := l.m[key]; ok {
		if now.Before(e.start.Add(loginWindow)) {
			return e
		}
		delete(l.m, key) // expired: a fresh window
	}
	if len(l.m) >= limiterKeys {
		l.sweep(now)
	}
	if len(l.m) >= limiterKeys {
		key = overflowKey
		if e, ok := l.m[key]; ok && now.Before(e.start.Add(loginWindow)) {
			return e
		}
	}
	e := &attempts{start: now}
	l.m[key] = e
	return e
}

// sweep drops expired entries, at most once a second (a flood of new
// keys against a full table costs one scan a second, not one each).
// l.mu is held.
func (l *loginLimiter) sweep(now time.Time) {
	if now.Sub(l.lastSweep) < time.Second {
		return
	}
	l.lastSweep = now
	for k, e := range l.m {
		if !now.Before(e.start.Add(loginWindow)) {
			delete(l.m, k)
		}
	}
}
