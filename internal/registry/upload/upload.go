// Package upload holds blob upload sessions: the bytes a client has sent so
// far, the running digest, and enough state on disk that a session survives
// a restart of the server.
//
// Layout: <dir>/<id>.data (the bytes) and <dir>/<id>.json (repository,
// algorithm, start time). The size of the data file is the session's offset.
// Files are flat in one directory: a directory per session cost a mkdir and
// a rmdir per blob, measurable on the push path.
package upload

import (
	"encoding/json"
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

	_ "crypto/sha256" // register the digest algorithms sessions may use
	_ "crypto/sha512"
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

	data, state string // file paths

	mu     sync.Mutex
	file   *os.File
	size   int64
	hasher hash.Hash // nil until needed after a restart: rebuilt from data
	done   bool
}

type state struct {
	Repo      string    `json:"repository"`
	Algorithm string    `json:"algorithm"`
	Started   time.Time `json:"started"`
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
	id := uuid.NewString()
	s := &Session{ID: id, Repo: repo, Algorithm: alg, Started: time.Now().UTC(), hasher: alg.Hash()}
	s.data, s.state = m.paths(id)
	st, _ := json.Marshal(state{Repo: repo, Algorithm: string(alg), Started: s.Started})
	// The state is written before the session is handed out, without
	// fsync: after a power loss a session whose state did not reach the
	// disk is unknown, and the client simply uploads again. Purge removes
	// its leftovers by age.
	if err := writeNew(s.state, st); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(s.data, os.O_CREATE|os.O_RDWR|os.O_EXCL, 0o644)
	if err != nil {
		os.Remove(s.state)
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
	dataPath, statePath := m.paths(id)
	raw, err := os.ReadFile(statePath)
	if err != nil {
		return nil, ErrUnknown
	}
	var st state
	if err := json.Unmarshal(raw, &st); err != nil || st.Repo != repo {
		return nil, ErrUnknown
	}
	alg := digest.Algorithm(st.Algorithm)
	if !alg.Available() {
		return nil, ErrUnknown
	}
	f, err := os.OpenFile(dataPath, os.O_RDWR, 0o644)
	if err != nil {
		return nil, ErrUnknown
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	s := &Session{ID: id, Repo: repo, Algorithm: alg, Started: st.Started, data: dataPath, state: statePath, file: f, size: fi.Size()}
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

var bufPool = sync.Pool{New: func() any { b := make([]byte, 1<<20); return &b }}

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
	if err := os.Remove(s.state); err != nil && !errors.Is(err, fs.ErrNotExist) {
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

// paths returns the data and state files of session id.
func (m *Manager) paths(id string) (data, state string) {
	base := filepath.Join(m.dir, id)
	return base + ".data", base + ".json"
}

// Purge removes sessions started before cutoff, and anything else in the
// upload directory older than cutoff (a data file whose state never got
// written, leftovers of a crash). It returns how many sessions or stray
// files it removed; dryRun only counts.
func (m *Manager) Purge(cutoff time.Time, dryRun bool) (int, error) {
	entries, err := os.ReadDir(m.dir)
	if err != nil {
		return 0, err
	}
	// Group files by session ID.
	type item struct {
		started   time.Time
		fromState bool // started comes from the state file
		paths     []string
	}
	items := map[string]*item{}
	for _, e := range entries {
		name := e.Name()
		id := strings.TrimSuffix(strings.TrimSuffix(name, ".data"), ".json")
		it := items[id]
		if it == nil {
			it = &item{}
			items[id] = it
		}
		p := filepath.Join(m.dir, name)
		it.paths = append(it.paths, p)
		if strings.HasSuffix(name, ".json") {
			if raw, err := os.ReadFile(p); err == nil {
				var st state
				if json.Unmarshal(raw, &st) == nil && !st.Started.IsZero() {
					it.started, it.fromState = st.Started, true
					continue
				}
			}
		}
		// No usable state: go by the newest file's age, so a session
		// being created right now is not removed under its feet.
		if fi, err := e.Info(); err == nil && !it.fromState && fi.ModTime().After(it.started) {
			it.started = fi.ModTime()
		}
	}
	n := 0
	for id, it := range items {
		if !it.started.Before(cutoff) {
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
		for _, p := range it.paths {
			if err := os.RemoveAll(p); err != nil {
				return n, err
			}
		}
	}
	return n, nil
}

// writeNew creates path (which must not exist) with data.
func writeNew(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
	}
	return err
}
