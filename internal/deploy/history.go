package deploy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/berth-dev/berth/internal/atomicfile"
	"github.com/berth-dev/berth/internal/engine"
)

// MaxRevisions is how many revisions History keeps per service; the oldest
// beyond it are dropped, never the current one.
const MaxRevisions = 20

// History is the revision history of every stack's services: one JSON file
// per stack under a directory (internal/model's encoding for the specs),
// each change written atomically, so a crash leaves the file before or
// after the change; a file in an older encoding is rewritten in the
// current one when first read. It is safe for concurrent use.
type History struct {
	dir string

	mu sync.Mutex
	// stacks caches the files read so far: stack → service → revisions,
	// oldest first. Entries are replaced, never changed in place, so a
	// failed write leaves the cache as the file is.
	stacks map[string]map[string][]Revision
}

// historyFile is the file format.
type historyFile struct {
	Services map[string][]Revision `json:"services"`
}

// OpenHistory opens (creating) the history under dir.
func OpenHistory(dir string) (*History, error) {
	if dir == "" {
		return nil, errors.New("history: directory is empty")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("history: %w", err)
	}
	return &History{dir: dir, stacks: map[string]map[string][]Revision{}}, nil
}

// checkStack rejects names that cannot safely be one file name.
func checkStack(name string) error {
	if name == "" || name == "." || name == ".." || strings.HasPrefix(name, ".") || strings.ContainsAny(name, "/\\\x00") {
		return fmt.Errorf("history: stack name %q is invalid", name)
	}
	return nil
}

func (h *History) path(stack string) string {
	return filepath.Join(h.dir, stack+".json")
}

// load returns a stack's revisions (h.mu held). A missing file is an empty
// history; a corrupt one is an error, so that Put never overwrites it.
func (h *History) load(stack string) (map[string][]Revision, error) {
	if err := checkStack(stack); err != nil {
		return nil, err
	}
	if s, ok := h.stacks[stack]; ok {
		return s, nil
	}
	raw, err := os.ReadFile(h.path(stack))
	if errors.Is(err, os.ErrNotExist) {
		s := map[string][]Revision{}
		h.stacks[stack] = s
		return s, nil
	}
	if err != nil {
		return nil, fmt.Errorf("history of stack %s: %w", stack, err)
	}
	var f historyFile
	if err := json.Unmarshal(raw, &f); err != nil {
		return nil, fmt.Errorf("history of stack %s: %s is corrupt: %w", stack, h.path(stack), err)
	}
	if f.Services == nil {
		f.Services = map[string][]Revision{}
	}
	for _, revs := range f.Services {
		sort.Slice(revs, func(i, j int) bool { return revs[i].Number < revs[j].Number })
	}
	if cur, err := encodeHistory(f.Services); err != nil || !bytes.Equal(cur, raw) {
		// An older encoding (see upgrade): rewritten once, now. A file
		// that cannot be rewritten still loads; the next Put rewrites it.
		upgrade(f.Services)
		_ = h.save(stack, f.Services)
	}
	h.stacks[stack] = f.Services
	return f.Services, nil
}

// upgrade brings revisions read from a file in an older encoding (before
// internal/model: the spec's keys upper-case, durations in nanoseconds) up
// to date: a config hash is a hash of the spec's encoding, so each
// revision gets the hash its spec has now, the one a container running it
// records (the engine recomputes those the same way) and the same spec
// deployed again is given.
func upgrade(services map[string][]Revision) {
	for _, revs := range services {
		for i := range revs {
			revs[i].ConfigHash = engine.ConfigHash(revs[i].Spec, revs[i].Digest)
		}
	}
}

// encodeHistory is a stack's history file content.
func encodeHistory(s map[string][]Revision) ([]byte, error) {
	return json.MarshalIndent(historyFile{Services: s}, "", "  ")
}

// save writes a stack's revisions and, once they are on disk, caches them.
func (h *History) save(stack string, s map[string][]Revision) error {
	raw, err := encodeHistory(s)
	if err != nil {
		return fmt.Errorf("history of stack %s: %w", stack, err)
	}
	// 0600: specs carry environment variables, which may be secrets.
	if err := atomicfile.Write(h.path(stack), raw, 0o600); err != nil {
		return fmt.Errorf("history of stack %s: %w", stack, err)
	}
	h.stacks[stack] = s
	return nil
}

// Next is the number the service's next revision gets (1 for the first).
// A history that cannot be read counts as empty here; Put reports why.
func (h *History) Next(stack, service string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	s, _ := h.load(stack)
	revs := s[service]
	if len(revs) == 0 {
		return 1
	}
	return revs[len(revs)-1].Number + 1
}

// Put inserts r, or replaces the revision of r.Service with r.Number.
func (h *History) Put(stack string, r Revision) error {
	if r.Service == "" {
		return fmt.Errorf("history: revision %d has no service", r.Number)
	}
	if r.Number < 1 {
		return fmt.Errorf("history: service %s: revision number %d is invalid (want 1 or more)", r.Service, r.Number)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	old, err := h.load(stack)
	if err != nil {
		return err
	}
	revs := make([]Revision, 0, len(old[r.Service])+1)
	replaced := false
	for _, o := range old[r.Service] {
		if o.Number == r.Number {
			o, replaced = r, true
		}
		revs = append(revs, o)
	}
	if !replaced {
		revs = append(revs, r)
		sort.Slice(revs, func(i, j int) bool { return revs[i].Number < revs[j].Number })
	}
	revs = trim(revs, r.Number)
	s := make(map[string][]Revision, len(old)+1)
	for k, v := range old {
		s[k] = v
	}
	s[r.Service] = revs
	return h.save(stack, s)
}

// trim drops the oldest revisions beyond MaxRevisions, sparing the current
// one and keep (the one just written).
func trim(revs []Revision, keep int) []Revision {
	for len(revs) > MaxRevisions {
		cur, _ := current(revs)
		i := 0
		for i < len(revs) && (revs[i].Number == cur.Number || revs[i].Number == keep) {
			i++
		}
		revs = append(revs[:i:i], revs[i+1:]...)
	}
	return revs
}

// current is the newest deployed revision of revs (oldest first).
func current(revs []Revision) (Revision, bool) {
	for i := len(revs) - 1; i >= 0; i-- {
		if revs[i].Outcome == OutcomeDeployed {
			return revs[i], true
		}
	}
	return Revision{}, false
}

// List is the service's revisions, oldest first.
func (h *History) List(stack, service string) []Revision {
	h.mu.Lock()
	defer h.mu.Unlock()
	s, _ := h.load(stack)
	out := make([]Revision, 0, len(s[service]))
	for _, r := range s[service] {
		out = append(out, clone(r))
	}
	return out
}

// Get is revision n of the service.
func (h *History) Get(stack, service string, n int) (Revision, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	s, _ := h.load(stack)
	for _, r := range s[service] {
		if r.Number == n {
			return clone(r), true
		}
	}
	return Revision{}, false
}

// Current is the service's newest revision with OutcomeDeployed: what runs
// now (a later one that was rolled back or failed does not count).
func (h *History) Current(stack, service string) (Revision, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	s, _ := h.load(stack)
	r, ok := current(s[service])
	if !ok {
		return Revision{}, false
	}
	return clone(r), true
}

// MarkInterrupted marks every in-progress revision of every stack
// interrupted: called at daemon start, when no rollout can be running.
// It goes through every stack file and reports the ones it could not fix.
func (h *History) MarkInterrupted() error {
	entries, err := os.ReadDir(h.dir)
	if err != nil {
		return fmt.Errorf("history: %w", err)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	var errs []error
	now := time.Now().UTC()
	for _, de := range entries {
		stack, ok := strings.CutSuffix(de.Name(), ".json")
		if !ok || de.IsDir() || checkStack(stack) != nil {
			continue // temp files of atomicfile start with a dot
		}
		old, err := h.load(stack)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		s := make(map[string][]Revision, len(old))
		changed := false
		for svc, revs := range old {
			if !slices.ContainsFunc(revs, func(r Revision) bool { return r.Outcome == OutcomeInProgress }) {
				s[svc] = revs
				continue
			}
			// A copy: the cache keeps the old list until the file is written.
			revs = slices.Clone(revs)
			for i := range revs {
				if revs[i].Outcome != OutcomeInProgress {
					continue
				}
				revs[i].Outcome = OutcomeInterrupted
				revs[i].Reason = "the daemon stopped during the rollout"
				if revs[i].Finished.IsZero() {
					revs[i].Finished = now
				}
			}
			s[svc] = revs
			changed = true
		}
		if changed {
			if err := h.save(stack, s); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// clone deep-copies a revision so callers cannot change the cache through
// the maps and slices of its spec.
func clone(r Revision) Revision {
	raw, err := json.Marshal(r)
	if err != nil {
		return r
	}
	var c Revision
	if json.Unmarshal(raw, &c) != nil {
		return r
	}
	return c
}
