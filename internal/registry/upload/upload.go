// Package upload holds blob upload sessions: the bytes a client has sent so
// far, the running digest, and enough state on disk that a session survives
// a restart of the server.
//
// Layout: <dir>/<id>/data (the bytes) and <dir>/<id>/state.json (repository,
// algorithm, start time). The size of data is the session's offset.
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

	dir string

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
	dir := filepath.Join(m.dir, id)
	if err := os.Mkdir(dir, 0o755); err != nil {
		return nil, err
	}
	s := &Session{ID: id, Repo: repo, Algorithm: alg, Started: time.Now().UTC(), dir: dir, hasher: alg.Hash()}
	st, _ := json.Marshal(state{Repo: repo, Algorithm: string(alg), Started: s.Started})
	// The state file is written before the session is handed out; if the
	// server dies before the rename, the directory has no state and is
	// purged as stale.
	if err := writeFileAtomic(filepath.Join(dir, "state.json"), st); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	f, err := os.OpenFile(filepath.Join(dir, "data"), os.O_CREATE|os.O_RDWR|os.O_EXCL, 0o644)
	if err != nil {
		os.RemoveAll(dir)
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
	dir := filepath.Join(m.dir, id)
	raw, err := os.ReadFile(filepath.Join(dir, "state.json"))
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
	f, err := os.OpenFile(filepath.Join(dir, "data"), os.O_RDWR, 0o644)
	if err != nil {
		return nil, ErrUnknown
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	s := &Session{ID: id, Repo: repo, Algorithm: alg, Started: st.Started, dir: dir, file: f, size: fi.Size()}
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
	buf := bufPool.Get().(*[]byte)
	defer bufPool.Put(buf)
	n, err := io.CopyBuffer(io.MultiWriter(s.file, s.hasher), r, *buf)
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
	return filepath.Join(s.dir, "data"), s.size, nil
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
	return os.RemoveAll(s.dir)
}

// Purge removes sessions started before cutoff (and directories that are
// not sessions at all, such as one whose state file never got written).
// It returns how many it removed; dryRun only counts.
func (m *Manager) Purge(cutoff time.Time, dryRun bool) (int, error) {
	entries, err := os.ReadDir(m.dir)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, e := range entries {
		dir := filepath.Join(m.dir, e.Name())
		started := time.Time{}
		if raw, err := os.ReadFile(filepath.Join(dir, "state.json")); err == nil {
			var st state
			if json.Unmarshal(raw, &st) == nil {
				started = st.Started
			}
		} else if !errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if started.IsZero() {
			// No state: use the directory's age so a session being
			// created right now is not removed under its feet.
			if fi, err := e.Info(); err == nil {
				started = fi.ModTime()
			}
		}
		if !started.Before(cutoff) {
			continue
		}
		n++
		if dryRun {
			continue
		}
		m.mu.Lock()
		if s, ok := m.sessions[e.Name()]; ok {
			delete(m.sessions, e.Name())
			s.mu.Lock()
			if !s.done {
				s.done = true
				s.file.Close()
			}
			s.mu.Unlock()
		}
		m.mu.Unlock()
		if err := os.RemoveAll(dir); err != nil {
			return n, err
		}
	}
	return n, nil
}

// writeFileAtomic writes data to path through a temp file, fsync and rename.
func writeFileAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".state-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}
