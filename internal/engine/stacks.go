package engine

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/berth-dev/berth/internal/model"
)

// The engine keeps the last model.StackSpec each stack was brought up with, so
// commands that change one aspect of a running stack (berth scale) can
// reapply the rest unchanged, also after a daemon restart. Specs are
// persisted at <root>/stacks/<name>.json (records.go).

func (e *Engine) stacksDir() string { return filepath.Join(e.root, "stacks") }

// validName rejects names that cannot safely be one path element.
func validName(kind, name string) error {
	if name == "" || name == "." || name == ".." || strings.ContainsAny(name, "/\\\x00") {
		return fmt.Errorf("%s name %q is invalid", kind, name)
	}
	return nil
}

// loadStacks reads the persisted specs (at start). A corrupt file is
// skipped with a warning rather than keeping the daemon from starting: the
// stack's containers still run, only scale needs `berth up` again.
func (e *Engine) loadStacks() error {
	entries, err := os.ReadDir(e.stacksDir())
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, de := range entries {
		name, ok := strings.CutSuffix(de.Name(), ".json")
		if !ok || strings.HasPrefix(de.Name(), ".") {
			continue // temp files of an interrupted save
		}
		raw, err := os.ReadFile(filepath.Join(e.stacksDir(), de.Name()))
		if err != nil {
			return err
		}
		var spec model.StackSpec
		if err := json.Unmarshal(raw, &spec); err != nil || spec.Name != name {
			e.log.Warn("ignoring unreadable stack record; run berth up again", "file", de.Name(), "err", err)
			continue
		}
		e.upgradeStack(spec, raw)
		e.stacks[name] = spec
	}
	return nil
}

// rememberStack persists spec as its stack's desired state (atomically: a
// crash leaves the old or the new record, never half).
func (e *Engine) rememberStack(spec model.StackSpec) error {
	if err := validName("stack", spec.Name); err != nil {
		return err
	}
	if err := e.writeStack(spec); err != nil {
		return fmt.Errorf("recording stack %s: %w", spec.Name, err)
	}
	e.mu.Lock()
	e.stacks[spec.Name] = spec
	e.mu.Unlock()
	return nil
}

// forgetStack drops a stack's record (berth down).
func (e *Engine) forgetStack(name string) error {
	if validName("stack", name) != nil {
		return nil // nothing can have been recorded under it
	}
	e.mu.Lock()
	delete(e.stacks, name)
	e.mu.Unlock()
	err := os.Remove(filepath.Join(e.stacksDir(), name+".json"))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return err
}

// Stack returns the spec a stack was last brought up with.
func (e *Engine) Stack(name string) (model.StackSpec, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	s, ok := e.stacks[name]
	return s, ok
}
