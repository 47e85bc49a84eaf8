package auth

import (
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

func TestParseHtpasswd(t *testing.T) {
	hash, err := bcrypt.GenerateFromPassword([]byte("secret"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	h := string(hash)
	h2a := "$2a$" + strings.TrimPrefix(h, "$2a$")
	h2y := "$2y$" + strings.TrimPrefix(h, "$2a$")
	tests := []struct {
		name      string
		file      string
		wantUsers []string
		wantErr   []string // substrings the error must contain
	}{
		{name: "bcrypt 2a and 2y, comments, blank lines", file: "# users\n\nalice:" + h2a + "\n  bob:" + h2y + "  \n", wantUsers: []string{"alice", "bob"}},
		{name: "empty file", file: "", wantUsers: nil},
		{name: "no colon", file: "alice:" + h + "\njustaname\n", wantErr: []string{"pw.txt line 2", "no ':'"}},
		{name: "empty user", file: ":" + h + "\n", wantErr: []string{"line 1", "empty"}},
		{name: "SHA1", file: "alice:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=\n", wantErr: []string{"line 1", `"alice"`, "bcrypt"}},
		{name: "MD5 apr1", file: "alice:" + h + "\ncarol:$apr1$r31.....$HqJZimcKQFAMYayBlzkrA/\n", wantErr: []string{"line 2", `"carol"`, "htpasswd -B"}},
		{name: "plain text", file: "alice:secret\n", wantErr: []string{"line 1", "bcrypt"}},
		{name: "crypt", file: "alice:rl5.bAdSD4DfA\n", wantErr: []string{"bcrypt"}},
		{name: "truncated bcrypt", file: "alice:$2y$05$abc\n", wantErr: []string{"line 1", "malformed bcrypt"}},
		{name: "duplicate user", file: "alice:" + h + "\nalice:" + h + "\n", wantErr: []string{"line 2", "twice"}},
		{name: "reserved anonymous", file: "anonymous:" + h + "\n", wantErr: []string{"line 1", "reserved"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			users, err := parseHtpasswd(strings.NewReader(tt.file), "pw.txt")
			if tt.wantErr != nil {
				if err == nil {
					t.Fatalf("accepted, want error")
				}
				for _, s := range append(tt.wantErr, "pw.txt") {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("error %q does not contain %q", err, s)
					}
				}
				for _, line := range strings.Split(tt.file, "\n") {
					if _, secret, ok := strings.Cut(line, ":"); ok && len(secret) > 3 && strings.Contains(err.Error(), secret) {
						t.Errorf("error %q leaks the hash or password %q", err, secret)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(users) != len(tt.wantUsers) {
				t.Fatalf("users = %d, want %v", len(users), tt.wantUsers)
			}
			for _, u := range tt.wantUsers {
				if _, ok := users[u]; !ok {
					t.Errorf("user %q missing", u)
				}
			}
		})
	}
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func TestHtpasswdCheck(t *testing.T) {
	dir := t.TempDir()
	path := writeHtpasswd(t, dir, "alice", "wonderland", "bob", "builder")
	clock := newFakeClock()
	h, err := newHtpasswd(path, quietLogger(), clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		user, pass string
		want       bool
	}{
		{"alice", "wonderland", true},
		{"alice", "wonderland", true}, // served from the cache
		{"bob", "builder", true},
		{"alice", "builder", false},
		{"alice", "", false},
		{"nobody", "wonderland", false},
		{"", "", false},
	} {
		if got := h.check(tc.user, tc.pass); got != tc.want {
			t.Errorf("check(%q, %q) = %v, want %v", tc.user, "***", got, tc.want)
		}
	}
	if n := len(h.cache); n != 2 {
		t.Errorf("cache holds %d entries, want 2 (only successful checks)", n)
	}
	for k := range h.cache {
		if strings.Contains(string(k[:]), "wonderland") {
			t.Fatal("cache key holds the password")
		}
	}
}

func TestHtpasswdCacheExpires(t *testing.T) {
	dir := t.TempDir()
	path := writeHtpasswd(t, dir, "alice", "wonderland")
	clock := newFakeClock()
	h, err := newHtpasswd(path, quietLogger(), clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	if !h.check("alice", "wonderland") {
		t.Fatal("valid password refused")
	}
	key := h.credentialKey("alice", "wonderland")
	first := h.cache[key]
	clock.Advance(credentialCacheTTL + time.Second)
	// An expired entry is checked with bcrypt again and renewed.
	if !h.check("alice", "wonderland") {
		t.Fatal("valid password refused after cache expiry")
	}
	if renewed := h.cache[key]; !renewed.After(first) {
		t.Fatalf("cache entry not renewed: %v then %v", first, renewed)
	}
}

func TestHtpasswdReloadsWhenFileChanges(t *testing.T) {
	dir := t.TempDir()
	path := writeHtpasswd(t, dir, "alice", "old-password")
	h, err := newHtpasswd(path, quietLogger(), time.Now)
	if err != nil {
		t.Fatal(err)
	}
	if !h.check("alice", "old-password") {
		t.Fatal("valid password refused")
	}
	bump := func() {
		// Give the file a distinct mtime even on coarse-grained filesystems.
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(path, fi.ModTime(), fi.ModTime().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
	}

	// Password changed and a user added: the cached old password must stop working.
	writeHtpasswd(t, dir, "alice", "new-password", "carol", "c")
	bump()
	if h.check("alice", "old-password") {
		t.Error("old password still accepted after the file changed")
	}
	if !h.check("alice", "new-password") || !h.check("carol", "c") {
		t.Error("new entries not loaded")
	}

	// A broken file keeps the last good users in force.
	if err := os.WriteFile(path, []byte("alice:{SHA}xyz\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	bump()
	if !h.check("alice", "new-password") {
		t.Error("a broken file replaced the users loaded before")
	}

	// A removed file too.
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if !h.check("carol", "c") {
		t.Error("a removed file dropped the users loaded before")
	}

	// And it is picked up again once it is back and valid.
	writeHtpasswd(t, dir, "dave", "d")
	if h.check("alice", "new-password") || !h.check("dave", "d") {
		t.Error("restored file not loaded")
	}
}

func TestNewRefusesMissingOrBadHtpasswd(t *testing.T) {
	dir := t.TempDir()
	_, err := New(Config{Htpasswd: filepath.Join(dir, "nope")})
	if err == nil || !strings.Contains(err.Error(), "htpasswd") || !strings.Contains(err.Error(), "nope") {
		t.Errorf("missing file: err = %v", err)
	}
	_, err = New(Config{})
	if err == nil || !strings.Contains(err.Error(), "htpasswd") {
		t.Errorf("empty path: err = %v", err)
	}
	bad := filepath.Join(dir, "bad")
	if err := os.WriteFile(bad, []byte("alice:$apr1$x$y\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = New(Config{Htpasswd: bad})
	if err == nil || !strings.Contains(err.Error(), bad+" line 1") {
		t.Errorf("non-bcrypt: err = %v", err)
	}
}

func TestHtpasswdConcurrentChecks(t *testing.T) {
	dir := t.TempDir()
	path := writeHtpasswd(t, dir, "alice", "wonderland", "bob", "builder")
	h, err := newHtpasswd(path, quietLogger(), time.Now)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	failures := make(chan string, 64)
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 5; j++ {
				if !h.check("alice", "wonderland") {
					failures <- "alice refused"
				}
				if h.check("bob", "wrong") {
					failures <- "bob accepted with a wrong password"
				}
			}
		}()
	}
	wg.Wait()
	close(failures)
	for f := range failures {
		t.Error(f)
	}
	if len(h.inflight) != 0 {
		t.Errorf("%d bcrypt calls left in flight", len(h.inflight))
	}
}

// BenchmarkCheck shows why successful checks are cached: registry clients
// send Basic credentials with every request.
func BenchmarkCheck(b *testing.B) {
	dir := b.TempDir()
	hash, _ := bcrypt.GenerateFromPassword([]byte("wonderland"), bcrypt.DefaultCost)
	path := filepath.Join(dir, "htpasswd")
	if err := os.WriteFile(path, []byte("alice:"+string(hash)+"\n"), 0o600); err != nil {
		b.Fatal(err)
	}
	h, err := newHtpasswd(path, quietLogger(), time.Now)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("cached", func(b *testing.B) {
		for b.Loop() {
			if !h.check("alice", "wonderland") {
				b.Fatal("refused")
			}
		}
	})
	b.Run("bcrypt", func(b *testing.B) {
		for b.Loop() {
			clear(h.cache)
			if !h.check("alice", "wonderland") {
				b.Fatal("refused")
			}
		}
	})
}
