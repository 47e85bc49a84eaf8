package deploy

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/berth-dev/berth/internal/engine"
	"github.com/berth-dev/berth/internal/model"
	"github.com/berth-dev/berth/internal/model/modeltest"
)

// legacyWeb is the spec in ../engine/testdata/state-v1, a state directory
// written by the code before internal/model (see its README).
func legacyWeb() model.ServiceSpec { return modeltest.LegacyWeb() }

// A deploy history written before internal/model loads with every field
// intact, and is rewritten once, lower-camel, with the config hashes of the
// current encoding (the ones the engine gives its containers' records).
func TestLegacyHistoryMigrates(t *testing.T) {
	dir := t.TempDir()
	raw, err := os.ReadFile("../engine/testdata/state-v1/deploy/shop.json")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(raw), `"WorkingDir"`) {
		t.Fatal("the fixture is not in the old format")
	}
	file := filepath.Join(dir, "shop.json")
	if err := os.WriteFile(file, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	created := time.Date(2025, 3, 4, 5, 0, 0, 0, time.UTC)
	rev := func(n int, digest string, outcome, reason string, update bool) Revision {
		spec := legacyWeb()
		spec.Image = "registry.example/shop/web@" + digest
		if !update {
			spec.Update = nil
		}
		at := created.Add(time.Duration(n-1) * time.Hour)
		return Revision{Number: n, Service: "web", Image: "registry.example/shop/web:v" + string(rune('0'+n)), Digest: digest,
			ConfigHash: engine.ConfigHash(spec, digest), Spec: spec, Created: at, Finished: at.Add(time.Minute), Outcome: outcome, Reason: reason}
	}
	want := []Revision{
		rev(1, "sha256:3333333333333333333333333333333333333333333333333333333333333333", OutcomeDeployed, "", false),
		rev(2, "sha256:1111111111111111111111111111111111111111111111111111111111111111", OutcomeDeployed, "", true),
		rev(3, "sha256:4444444444444444444444444444444444444444444444444444444444444444", OutcomeRolledBack, "replica 1 exited with code 1", true),
	}
	if want[1].ConfigHash == "d47d75de49e6641e5cca4118" {
		t.Fatal("the hash did not change with the encoding; the test proves nothing")
	}
	h, err := OpenHistory(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.MarkInterrupted(); err != nil { // what a daemon start does first
		t.Fatal(err)
	}
	if got := h.List("shop", "web"); !reflect.DeepEqual(got, want) {
		t.Errorf("revisions:\n got %+v\nwant %+v", got, want)
	}
	if cur, ok := h.Current("shop", "web"); !ok || cur.Number != 2 {
		t.Errorf("current = %d, %v; want 2", cur.Number, ok)
	}

	raw, err = os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var doc any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	var walk func(v any, userKeys bool)
	walk = func(v any, userKeys bool) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				if !userKeys && (!unicode.IsLower([]rune(k)[0]) || strings.ContainsAny(k, "_-")) {
					t.Errorf("key %q is not lower-camel", k)
				}
				walk(x, k == "services" || k == "env" || k == "labels" || k == "dependsOn")
			}
		case []any:
			for _, x := range v {
				walk(x, false)
			}
		}
	}
	walk(doc, false)
	if !strings.Contains(string(raw), `"stopTimeout": "25s"`) || !strings.Contains(string(raw), `"interval": "2s"`) {
		t.Errorf("durations are not strings:\n%s", raw)
	}
	st, _ := os.Stat(file)

	// Read again by the next daemon: as it is, and not written again.
	h, err = OpenHistory(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := h.List("shop", "web"); !reflect.DeepEqual(got, want) {
		t.Errorf("revisions after reopening:\n got %+v\nwant %+v", got, want)
	}
	if st2, err := os.Stat(file); err != nil || !os.SameFile(st, st2) {
		t.Errorf("the history was written again")
	}
}
