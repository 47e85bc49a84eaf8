package console

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// Users are the console's accounts: name → bcrypt hash, read from an
// htpasswd-style file (`htpasswd -B`: one "name:$2y$..." a line; blank
// lines and # comments are skipped). Only bcrypt hashes are accepted.
type Users map[string][]byte

// LoadUsers reads an htpasswd-style file of bcrypt hashes.
func LoadUsers(path string) (Users, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("console users: %w", err)
	}
	return ParseUsers(path, raw)
}

// ParseUsers parses the users file's content; name is the file's name for
// errors.
func ParseUsers(name string, raw []byte) (Users, error) {
	users := Users{}
	sc := bufio.NewScanner(bytes.NewReader(raw))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		user, hash, ok := strings.Cut(line, ":")
		if !ok || user == "" {
			return nil, fmt.Errorf("%s:%d: want NAME:BCRYPT-HASH", name, n)
		}
		if strings.ContainsAny(user, " \t<>&\"'") {
			return nil, fmt.Errorf("%s:%d: user name %q has a space or markup character", name, n, user)
		}
		if _, err := bcrypt.Cost([]byte(hash)); err != nil {
			return nil, fmt.Errorf("%s:%d: user %q: the password is not a bcrypt hash (htpasswd -B): %v", name, n, user, err)
		}
		if _, dup := users[user]; dup {
			return nil, fmt.Errorf("%s:%d: user %q is listed twice", name, n, user)
		}
		users[user] = []byte(hash)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return users, nil
}

// check reports whether password is user's. An unknown user costs a
// bcrypt comparison too, so timing does not tell which users exist.
func (u Users) check(user, password string) bool {
	hash, ok := u[user]
	if !ok {
		hash = dummyHash
	}
	err := bcrypt.CompareHashAndPassword(hash, []byte(password))
	return ok && err == nil
}

var dummyHash, _ = bcrypt.GenerateFromPassword([]byte("no such user"), bcrypt.DefaultCost)

// randomHex returns n random bytes, hex-encoded.
func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on Linux
	}
	return hex.EncodeToString(b)
}

// session is a logged-in browser; a reader without one (anonymous
// read-only access) gets a zero session with only LoginURL set.
type session struct {
	User    string
	CSRF    string
	expires time.Time
	// LoginURL is set for an anonymous reader: the login page, coming
	// back to the page read.
	LoginURL string
}

// sessions is the server-side session table: the cookie holds only a
// random 32-byte id.
type sessions struct {
	ttl time.Duration
	now func() time.Time

	mu sync.Mutex
	m  map[string]session
}

func newSessions(ttl time.Duration) *sessions {
	return &sessions{ttl: ttl, now: time.Now, m: map[string]session{}}
}

// create starts a session for user and returns its id.
func (s *sessions) create(user string) (string, session) {
	id := randomHex(32)
	ses := session{User: user, CSRF: randomHex(32), expires: s.now().Add(s.ttl)}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	for k, v := range s.m { // drop expired ones as we go
		if now.After(v.expires) {
			delete(s.m, k)
		}
	}
	s.m[id] = ses
	return id, ses
}

// get returns a live session.
func (s *sessions) get(id string) (session, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ses, ok := s.m[id]
	if !ok {
		return session{}, false
	}
	if s.now().After(ses.expires) {
		delete(s.m, id)
		return session{}, false
	}
	return ses, true
}

func (s *sessions) remove(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, id)
}

// oneTimeToken is a login token the daemon prints at start: it logs in
// once, as user "token".
type oneTimeToken struct {
	mu    sync.Mutex
	value string // "" once used
}

// use consumes the token if t is it.
func (o *oneTimeToken) use(t string) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.value == "" || t == "" || subtle.ConstantTimeCompare([]byte(o.value), []byte(t)) != 1 {
		return false
	}
	o.value = ""
	return true
}

func equalSecret(a, b string) bool {
	return a != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// NewToken returns a random one-time login token (32 bytes, hex).
func NewToken() string { return randomHex(32) }
