package auth

import (
	"bufio"
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// credentialCacheTTL is how long a successful bcrypt check is remembered.
// Registry clients send Basic credentials on every request and bcrypt costs
// 50-100 ms, so without the cache a push of many layers would spend most of
// its time hashing; a minute bounds how long a changed password is ignored
// (a reload of the file clears the cache at once anyway).
const credentialCacheTTL = time.Minute

// AnonymousUser is the user name rules use for requests without credentials.
// It cannot appear in the htpasswd file.
const AnonymousUser = "anonymous"

// htpasswd holds the users of an htpasswd file, reloads the file when it
// changes and checks passwords.
type htpasswd struct {
	path   string
	logger *slog.Logger
	now    func() time.Time

	mu       sync.RWMutex
	stamp    fileStamp         // of the last load attempt
	users    map[string][]byte // user -> bcrypt hash, from the last good load
	cache    map[[32]byte]time.Time
	cacheKey []byte // HMAC key, so the cache holds no plain password hashes
	inflight map[[32]byte]*bcryptCall

	dummyOnce sync.Once
	dummy     []byte // hash checked for unknown users, to hide who exists
}

// fileStamp identifies one version of the file; mtime alone can miss two
// writes within the filesystem's timestamp granularity, size catches most.
type fileStamp struct {
	modTime time.Time
	size    int64
}

func newHtpasswd(path string, logger *slog.Logger, now func() time.Time) (*htpasswd, error) {
	h := &htpasswd{path: path, logger: logger, now: now, cache: map[[32]byte]time.Time{}, inflight: map[[32]byte]*bcryptCall{}, cacheKey: make([]byte, 32)}
	if _, err := rand.Read(h.cacheKey); err != nil {
		return nil, fmt.Errorf("htpasswd: creating cache key: %w", err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("htpasswd: %w", err)
	}
	users, err := loadHtpasswd(path)
	if err != nil {
		return nil, fmt.Errorf("htpasswd: %w", err)
	}
	h.users = users
	h.stamp = fileStamp{fi.ModTime(), fi.Size()}
	return h, nil
}

// loadHtpasswd reads and parses the file at path.
func loadHtpasswd(path string) (map[string][]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return parseHtpasswd(f, path)
}

// parseHtpasswd parses "user:hash" lines; blank lines and lines starting
// with '#' are skipped. Only bcrypt hashes are accepted: the other htpasswd
// formats (MD5 "$apr1$", SHA1 "{SHA}", crypt, plain text) are weak, and
// silently ignoring such a line would lock its user out with no hint why.
// Errors name the file and line but never include the hash.
func parseHtpasswd(r io.Reader, name string) (map[string][]byte, error) {
	users := map[string][]byte{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 64*1024)
	lineNo := 0
	for sc.Scan() {
		lineNo++
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		user, hash, ok := strings.Cut(line, ":")
		if !ok {
			return nil, fmt.Errorf("%s line %d: want user:bcrypt-hash, found no ':'", name, lineNo)
		}
		if user == "" {
			return nil, fmt.Errorf("%s line %d: the user name is empty", name, lineNo)
		}
		if user == AnonymousUser {
			return nil, fmt.Errorf("%s line %d: user name %q is reserved for requests without credentials", name, lineNo, user)
		}
		if !isBcrypt(hash) {
			return nil, fmt.Errorf("%s line %d: user %q: only bcrypt hashes ($2y$, $2a$, $2b$) are supported; create the entry with `htpasswd -B`", name, lineNo, user)
		}
		if _, err := bcrypt.Cost([]byte(hash)); err != nil {
			return nil, fmt.Errorf("%s line %d: user %q: malformed bcrypt hash: %v", name, lineNo, user, err)
		}
		if _, dup := users[user]; dup {
			return nil, fmt.Errorf("%s line %d: user %q appears twice", name, lineNo, user)
		}
		users[user] = []byte(hash)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s line %d: %w", name, lineNo+1, err)
	}
	return users, nil
}

func isBcrypt(hash string) bool {
	for _, p := range []string{"$2y$", "$2a$", "$2b$"} {
		if strings.HasPrefix(hash, p) {
			return true
		}
	}
	return false
}

// reloadIfChanged re-reads the file when its mtime or size changed. A file
// that fails to stat or parse keeps the last good users in force (an editor
// half-way through saving must not lock everyone out) and is logged.
func (h *htpasswd) reloadIfChanged() {
	fi, err := os.Stat(h.path)
	if err != nil {
		h.mu.Lock()
		if !h.stamp.modTime.IsZero() {
			h.logger.Warn("htpasswd file unreadable; keeping the users loaded before", "file", h.path, "err", err)
			h.stamp = fileStamp{}
		}
		h.mu.Unlock()
		return
	}
	stamp := fileStamp{fi.ModTime(), fi.Size()}
	h.mu.RLock()
	same := stamp == h.stamp
	h.mu.RUnlock()
	if same {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if stamp == h.stamp {
		return // another request reloaded it meanwhile
	}
	h.stamp = stamp
	users, err := loadHtpasswd(h.path)
	if err != nil {
		h.logger.Warn("htpasswd file changed but does not load; keeping the users loaded before", "err", err)
		return
	}
	h.users = users
	clear(h.cache)
}

// check reports whether password is user's password.
func (h *htpasswd) check(user, password string) bool {
	h.reloadIfChanged()
	key := h.credentialKey(user, password)
	now := h.now()

	h.mu.RLock()
	expires, cached := h.cache[key]
	hash, known := h.users[user]
	h.mu.RUnlock()
	if cached && now.Before(expires) {
		return true
	}
	if !known {
		// Spend the same time as for a known user so response times do not
		// tell which user names exist.
		_ = bcrypt.CompareHashAndPassword(h.dummyHash(), []byte(password))
		return false
	}
	if !h.compareOnce(key, hash, password) {
		return false
	}

	h.mu.Lock()
	// Only cache if the file was not reloaded with another hash meanwhile.
	if cur, ok := h.users[user]; ok && bytes.Equal(cur, hash) {
		if len(h.cache) >= 1024 {
			for k, exp := range h.cache {
				if !now.Before(exp) {
					delete(h.cache, k)
				}
			}
		}
		h.cache[key] = now.Add(credentialCacheTTL)
	}
	h.mu.Unlock()
	return true
}

// bcryptCall is one bcrypt comparison that concurrent checks of the same
// credentials wait for.
type bcryptCall struct {
	done chan struct{}
	ok   bool
}

// compareOnce runs bcrypt for key once however many requests ask at the same
// time: clients push several layers in parallel right after login, and each
// would otherwise spend its own 50-100 ms before the cache is filled.
func (h *htpasswd) compareOnce(key [32]byte, hash []byte, password string) bool {
	h.mu.Lock()
	if c, ok := h.inflight[key]; ok {
		h.mu.Unlock()
		<-c.done
		return c.ok
	}
	c := &bcryptCall{done: make(chan struct{})}
	h.inflight[key] = c
	h.mu.Unlock()

	c.ok = bcrypt.CompareHashAndPassword(hash, []byte(password)) == nil

	h.mu.Lock()
	delete(h.inflight, key)
	h.mu.Unlock()
	close(c.done)
	return c.ok
}

// credentialKey derives the cache key. It is keyed with a per-process random
// secret so a memory dump does not hold fast-to-crack password hashes.
func (h *htpasswd) credentialKey(user, password string) [32]byte {
	m := hmac.New(sha256.New, h.cacheKey)
	m.Write([]byte(user))
	m.Write([]byte{0})
	m.Write([]byte(password))
	var k [32]byte
	copy(k[:], m.Sum(nil))
	return k
}

func (h *htpasswd) dummyHash() []byte {
	h.dummyOnce.Do(func() {
		h.dummy, _ = bcrypt.GenerateFromPassword([]byte("berth-no-such-user"), bcrypt.DefaultCost)
	})
	return h.dummy
}
