// Package upload holds blob upload sessions: the bytes a client has sent so
// far, the running digest, and enough state on disk that a session survives
// a restart of the server.
//
// A session is ONE file, <dir>/<id>.<algorithm>.<repository hash>: the ID
// is a UUIDv7 (its timestamp is the start time), the name carries the digest
// algorithm and a hash of the repository, and the file's size is the
// session's offset. Starting an upload is a single create(2) — the push path
// is CPU-bound, and a separate state file cost a create, write and unlink per
// blob — yet everything needed to continue after a restart is on disk.
package upload

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/opencontainers/go-digest"

	_ "crypto/sha512" // register the digest algorithms sessions may use
)

var (
	// ErrUnknown is returned for an upload ID that has no session (or one
	// of another repository).
	ErrUnknown = errors.New("upload unknown")
	// ErrOutOfOrder is returned for a chunk that does not start where the
	// session's data ends.
	ErrOutOfOrder = errors.New("chunk out of order")
	// ErrDigestMismatch is returned when the content does not hash to the
	// digest the client named.
	ErrDigestMismatch = errors.New("digest mismatch")
)

// Manager owns the upload directory.
type Manager struct {
	dir string

	mu       sync.Mutex
	sessions map[string]*Session
}

// Session is one upload in progress. Its methods serialise on the session,
// so two requests for one upload never interleave their bytes.
type Session struct {
	ID        string
	Repo      string
	Algorithm digest.Algorithm
	Started   time.Time

	data string // the data file

	mu     sync.Mutex
	file   *os.File
	size   int64
	hasher hash.Hash // nil until needed after a restart: rebuilt from data
	done   bool
}

// NewManager returns a manager for dir, creating it if needed.
func NewManager(dir string) (*Manager, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("upload directory %s: %w", dir, err)
	}
	return &Manager{dir: dir, sessions: map[string]*Session{}}, nil
}

// Dir returns the upload directory.
func (m *Manager) Dir() string { return m.dir }

// Start creates a new session for repo with the given digest algorithm.
func (m *Manager) Start(repo string, alg digest.Algorithm) (*Session, error) {
	if !alg.Available() {
		return nil, fmt.Errorf("digest algorithm %q is not supported", alg)
	}
	u, err := uuid.NewV7()
	if err != nil {
		return nil, err
	}
	id := u.String()
	s := &Session{ID: id, Repo: repo, Algorithm: alg, Started: time.Now().UTC(), hasher: alg.Hash()}
	s.data = m.path(id, alg, repo)
	f, err := os.OpenFile(s.data, os.O_CREATE|os.O_RDWR|os.O_EXCL, 0o644)
	if err != nil {
		return nil, err
	}
	s.file = f
	m.mu.Lock()
	m.sessions[id] = s
	m.mu.Unlock()
	return s, nil
}

// Get returns session id of repo, loading it from disk after a restart.
func (m *Manager) Get(id, repo string) (*Session, error) {
	if _, err := uuid.Parse(id); err != nil {
		return nil, ErrUnknown
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if s, ok := m.sessions[id]; ok {
		if s.Repo != repo {
			return nil, ErrUnknown
		}
		return s, nil
	}
	u, _ := uuid.Parse(id)
	var f *os.File
	var alg digest.Algorithm
	var dataPath string
	for _, a := range []digest.Algorithm{digest.SHA256, digest.SHA512, digest.SHA384} {
		p := m.path(id, a, repo)
		if fh, err := os.OpenFile(p, os.O_RDWR, 0o644); err == nil {
			f, alg, dataPath = fh, a, p
			break
		}
	}
	if f == nil {
		return nil, ErrUnknown
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	started := fi.ModTime().UTC()
	if u.Version() == 7 {
		sec, nsec := u.Time().UnixTime()
		started = time.Unix(sec, nsec).UTC()
	}
	s := &Session{ID: id, Repo: repo, Algorithm: alg, Started: started, data: dataPath, file: f, size: fi.Size()}
	m.sessions[id] = s
	return s, nil
}

// Size returns how many bytes the session holds.
func (s *Session) Size() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.size
}

// Append writes r to the end of the session. When start >= 0 the chunk must
// begin exactly at the current size (chunked upload); start < 0 appends
// wherever the data ends (streamed upload). It returns the new size.
// A failed write truncates the data back so the session stays consistent.
func (s *Session) Append(r io.Reader, start int64) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.done {
		return 0, ErrUnknown
	}
	if start >= 0 && start != s.size {
		return s.size, ErrOutOfOrder
	}
	if err := s.ensureHasher(); err != nil {
		return s.size, err
	}
	if _, err := s.file.Seek(s.size, io.SeekStart); err != nil {
		return s.size, err
	}
	n, err := copyFull(s.file, s.hasher, r)
	if err != nil {
		// Roll back: the client will retry the chunk from the old offset.
		// The hash state now includes the partial bytes, so drop it and
		// rebuild from disk when needed.
		_ = s.file.Truncate(s.size)
		s.hasher = nil
		return s.size, err
	}
	s.size += n
	return s.size, nil
}

var bufPool = sync.Pool{New: func() any { b := make([]byte, 256<<10); return &b }}

// copyFull copies r to f and h in large writes. HTTP bodies arrive in
// small reads (a chunked body yields one chunk per Read); filling a big
// buffer before each write(2) cuts the syscalls and the filesystem's
// per-write locking, which dominated upload CPU time.
func copyFull(f *os.File, h hash.Hash, r io.Reader) (int64, error) {
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	buf := *bp
	var total int64
	for {
		n, rerr := io.ReadFull(r, buf)
		if n > 0 {
			h.Write(buf[:n])
			if _, err := f.Write(buf[:n]); err != nil {
				return total, err
			}
			total += int64(n)
		}
		if rerr == io.EOF || rerr == io.ErrUnexpectedEOF {
			return total, nil
		}
		if rerr != nil {
			return total, rerr
		}
	}
}

// ensureHasher rebuilds the running hash from the data file; that is needed
// only after a restart or a failed chunk.
func (s *Session) ensureHasher() error {
	if s.hasher != nil {
		return nil
	}
	h := s.Algorithm.Hash()
	if _, err := io.Copy(h, io.NewSectionReader(s.file, 0, s.size)); err != nil {
		return err
	}
	s.hasher = h
	return nil
}

// Finish checks that the session's content hashes to want, fsyncs it and
// returns the path of the data file, ready to be renamed into the blob store.
// After Finish the session accepts no more data; the caller calls
// Manager.Remove once the data file has been moved (or on failure).
func (s *Session) Finish(want digest.Digest) (path string, size int64, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.done {
		return "", 0, ErrUnknown
	}
	if want.Algorithm() != s.Algorithm {
		// A client may start a sha256 upload and name a sha512 digest:
		// hash again with that algorithm.
		if !want.Algorithm().Available() {
			return "", 0, fmt.Errorf("%w: algorithm %q is not supported", ErrDigestMismatch, want.Algorithm())
		}
		h := want.Algorithm().Hash()
		if _, err := io.Copy(h, io.NewSectionReader(s.file, 0, s.size)); err != nil {
			return "", 0, err
		}
		if got := digest.NewDigest(want.Algorithm(), h); got != want {
			return "", 0, fmt.Errorf("%w: content is %s", ErrDigestMismatch, got)
		}
	} else {
		if err := s.ensureHasher(); err != nil {
			return "", 0, err
		}
		if got := digest.NewDigest(s.Algorithm, s.hasher); got != want {
			return "", 0, fmt.Errorf("%w: content is %s", ErrDigestMismatch, got)
		}
	}
	if err := s.file.Sync(); err != nil {
		return "", 0, err
	}
	if err := s.file.Close(); err != nil {
		return "", 0, err
	}
	s.done = true
	return s.data, s.size, nil
}

// Remove forgets session s and deletes what is left of it on disk.
func (m *Manager) Remove(s *Session) error {
	s.mu.Lock()
	if !s.done {
		s.done = true
		s.file.Close()
	}
	s.mu.Unlock()
	m.mu.Lock()
	delete(m.sessions, s.ID)
	m.mu.Unlock()
	// The data file is usually gone already: renamed into the blob store.
	if err := os.Remove(s.data); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// Close closes the files of every open session (they stay on disk and can
// be continued by the next manager over the same directory).
func (m *Manager) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for id, s := range m.sessions {
		s.mu.Lock()
		if !s.done {
			s.done = true
			s.file.Close()
		}
		s.mu.Unlock()
		delete(m.sessions, id)
	}
	return nil
}

// path returns the data file of session id of repo with algorithm alg.
func (m *Manager) path(id string, alg digest.Algorithm, repo string) string {
	h := sha256.Sum256([]byte(repo))
	return filepath.Join(m.dir, id+"."+string(alg)+"."+hex.EncodeToString(h[:8]))
}

// Purge removes sessions started before cutoff, and anything else in the
// upload directory last written before cutoff (leftovers of older layouts
// or of a crash). It returns how many it removed; dryRun only counts.
func (m *Manager) Purge(cutoff time.Time, dryRun bool) (int, error) {
	entries, err := os.ReadDir(m.dir)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, e := range entries {
		id, _, _ := strings.Cut(e.Name(), ".")
		var started time.Time
		if u, err := uuid.Parse(id); err == nil && u.Version() == 7 {
			sec, nsec := u.Time().UnixTime()
			started = time.Unix(sec, nsec)
		} else if fi, err := e.Info(); err == nil {
			started = fi.ModTime()
		}
		if started.IsZero() || !started.Before(cutoff) {
			continue
		}
		n++
		if dryRun {
			continue
		}
		m.mu.Lock()
		if s, ok := m.sessions[id]; ok {
			delete(m.sessions, id)
			s.mu.Lock()
			if !s.done {
				s.done = true
				s.file.Close()
			}
			s.mu.Unlock()
		}
		m.mu.Unlock()
		if err := os.RemoveAll(filepath.Join(m.dir, e.Name())); err != nil {
			return n, err
		}
	}
	return n, nil
}
