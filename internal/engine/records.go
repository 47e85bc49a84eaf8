package engine

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/berth-dev/berth/internal/atomicfile"
	"github.com/berth-dev/berth/internal/model"
)

// The engine's records on disk: containers/<id>/container.json (a
// Container) and stacks/<name>.json (a model.StackSpec), both indented JSON
// in internal/model's encoding (lower-camel keys, durations as strings),
// each written atomically (temp file, fsync, rename).
//
// Records written before internal/model (the service spec, its health
// check and restart policy with upper-case keys, durations as integer
// nanoseconds) load as they are (see internal/model) and are rewritten
// once, when loaded, in the current encoding. A container's config hash
// is a hash of its spec's encoding, so a rewritten record gets the hash
// its spec has now: the same spec sent again by berth up or berth deploy
// matches it and replaces nothing. A crash during the rewrite leaves the
// old record or the new one; either loads.

// encodeContainer is container.json's content for c.
func encodeContainer(c Container) ([]byte, error) { return json.MarshalIndent(c, "", "  ") }

// save persists a container record atomically.
func (e *Engine) save(c Container) error {
	dir := filepath.Join(e.containersDir(), c.ID)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	raw, err := encodeContainer(c)
	if err != nil {
		return err
	}
	return atomicfile.Write(filepath.Join(dir, "container.json"), raw, 0o600)
}

// loadContainer reads dir/container.json, rewriting a record in an older
// encoding in the current one (with the config hash of that encoding).
// A record that cannot be rewritten still loads; the next save rewrites it.
func (e *Engine) loadContainer(dir string) (Container, error) {
	path := filepath.Join(dir, "container.json")
	raw, err := os.ReadFile(path)
	if err != nil {
		return Container{}, err
	}
	var c Container
	if err := json.Unmarshal(raw, &c); err != nil {
		return Container{}, fmt.Errorf("%s: %w", path, err)
	}
	if cur, err := encodeContainer(c); err == nil && bytes.Equal(cur, raw) {
		return c, nil
	}
	c.ConfigHash = configHash(c.Spec, c.Image)
	if err := e.save(c); err != nil {
		e.log.Warn("rewriting a container record in the current format", "file", path, "err", err)
	} else {
		e.log.Info("rewrote a container record in the current format", "file", path)
	}
	return c, nil
}

// encodeStack is stacks/<name>.json's content for spec.
func encodeStack(spec model.StackSpec) ([]byte, error) { return json.MarshalIndent(spec, "", "  ") }

// writeStack persists spec atomically.
func (e *Engine) writeStack(spec model.StackSpec) error {
	if err := os.MkdirAll(e.stacksDir(), 0o700); err != nil {
		return err
	}
	raw, err := encodeStack(spec)
	if err != nil {
		return err
	}
	return atomicfile.Write(filepath.Join(e.stacksDir(), spec.Name+".json"), raw, 0o600)
}

// upgradeStack rewrites a stack record read as raw in the current
// encoding when it is in an older one.
func (e *Engine) upgradeStack(spec model.StackSpec, raw []byte) {
	if cur, err := encodeStack(spec); err == nil && bytes.Equal(cur, raw) {
		return
	}
	if err := e.writeStack(spec); err != nil {
		e.log.Warn("rewriting a stack record in the current format", "stack", spec.Name, "err", err)
	} else {
		e.log.Info("rewrote a stack record in the current format", "stack", spec.Name)
	}
}
