package deploy

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/model"
)

func revision(svc string, n int, outcome string) Revision {
	return Revision{
		Number: n, Service: svc, Image: "web:" + fmt.Sprint(n), Digest: fmt.Sprintf("sha256:%064d", n),
		ConfigHash: fmt.Sprintf("hash%d", n), Created: time.Date(2025, 1, 1, 0, n, 0, 0, time.UTC),
		Spec:    model.ServiceSpec{Name: svc, Image: "web@sha256:x", Env: map[string]string{"N": fmt.Sprint(n)}, Replicas: 2},
		Outcome: outcome,
	}
}

func TestHistoryPersistsAcrossReopen(t *testing.T) {
	dir := t.TempDir()
	h, err := OpenHistory(dir)
	if err != nil {
		t.Fatal(err)
	}
	if n := h.Next("shop", "web"); n != 1 {
		t.Fatalf("first Next = %d, want 1", n)
	}
	for n := 1; n <= 3; n++ {
		if err := h.Put("shop", revision("web", n, OutcomeDeployed)); err != nil {
			t.Fatal(err)
		}
	}
	if err := h.Put("shop", revision("db", 1, OutcomeDeployed)); err != nil {
		t.Fatal(err)
	}
	// Replace by number: revision 3 finished.
	r3 := revision("web", 3, OutcomeRolledBack)
	r3.Reason = "replica 1 of revision 3 did not become ready: exited with code 1"
	if err := h.Put("shop", r3); err != nil {
		t.Fatal(err)
	}

	h2, err := OpenHistory(dir)
	if err != nil {
		t.Fatal(err)
	}
	revs := h2.List("shop", "web")
	if len(revs) != 3 || revs[0].Number != 1 || revs[2].Number != 3 || revs[2].Outcome != OutcomeRolledBack || revs[2].Reason != r3.Reason {
		t.Fatalf("after reopen: %+v", revs)
	}
	if revs[1].Spec.Env["N"] != "2" || !revs[1].Created.Equal(revision("web", 2, "").Created) {
		t.Fatalf("revision 2 did not round-trip: %+v", revs[1])
	}
	if n := h2.Next("shop", "web"); n != 4 {
		t.Fatalf("Next = %d, want 4", n)
	}
	if n := h2.Next("shop", "db"); n != 2 {
		t.Fatalf("Next(db) = %d, want 2", n)
	}
	if _, ok := h2.Get("shop", "web", 7); ok {
		t.Fatal("Get of a missing revision succeeded")
	}
	if r, ok := h2.Get("shop", "web", 2); !ok || r.Digest != revision("web", 2, "").Digest {
		t.Fatalf("Get(2) = %+v, %v", r, ok)
	}
	fi, err := os.Stat(filepath.Join(dir, "shop.json"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("history file: %v %v", fi, err)
	}
	// Callers get copies: changing one does not change the history.
	revs[1].Spec.Env["N"] = "changed"
	if r, _ := h2.Get("shop", "web", 2); r.Spec.Env["N"] != "2" {
		t.Fatal("List returned the cached spec itself")
	}
}

func TestHistoryCurrentAfterRollback(t *testing.T) {
	h, err := OpenHistory(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := h.Current("shop", "web"); ok {
		t.Fatal("Current of an empty history")
	}
	h.Put("shop", revision("web", 1, OutcomeDeployed))
	h.Put("shop", revision("web", 2, OutcomeInProgress))
	if cur, _ := h.Current("shop", "web"); cur.Number != 1 {
		t.Fatalf("current during a rollout = %d, want 1", cur.Number)
	}
	h.Put("shop", revision("web", 2, OutcomeRolledBack))
	h.Put("shop", revision("web", 3, OutcomeFailed))
	if cur, ok := h.Current("shop", "web"); !ok || cur.Number != 1 {
		t.Fatalf("current after a rollback = %d, want 1", cur.Number)
	}
	h.Put("shop", revision("web", 4, OutcomeDeployed))
	if cur, _ := h.Current("shop", "web"); cur.Number != 4 {
		t.Fatalf("current = %d, want 4", cur.Number)
	}
}

func TestHistoryTrims(t *testing.T) {
	dir := t.TempDir()
	h, _ := OpenHistory(dir)
	// Revision 1 stays current: every later one fails.
	if err := h.Put("shop", revision("web", 1, OutcomeDeployed)); err != nil {
		t.Fatal(err)
	}
	for n := 2; n <= MaxRevisions+5; n++ {
		if err := h.Put("shop", revision("web", n, OutcomeRolledBack)); err != nil {
			t.Fatal(err)
		}
	}
	h2, _ := OpenHistory(dir)
	revs := h2.List("shop", "web")
	if len(revs) != MaxRevisions {
		t.Fatalf("%d revisions kept, want %d", len(revs), MaxRevisions)
	}
	if revs[0].Number != 1 || revs[1].Number != 7 || revs[len(revs)-1].Number != MaxRevisions+5 {
		t.Fatalf("kept %d, %d ... %d; want 1 (current), 7 ... %d", revs[0].Number, revs[1].Number, revs[len(revs)-1].Number, MaxRevisions+5)
	}
	if cur, _ := h2.Current("shop", "web"); cur.Number != 1 {
		t.Fatalf("current %d, want 1", cur.Number)
	}
	if n := h2.Next("shop", "web"); n != MaxRevisions+6 {
		t.Fatalf("Next = %d after trimming", n)
	}
}

func TestHistoryRejectsBadInput(t *testing.T) {
	h, _ := OpenHistory(t.TempDir())
	for _, stack := range []string{"", ".", "..", "../x", "a/b", `a\b`, ".hidden"} {
		err := h.Put(stack, revision("web", 1, OutcomeDeployed))
		if err == nil || !strings.Contains(err.Error(), "stack name") {
			t.Errorf("Put(%q): %v, want a stack name error", stack, err)
		}
		if n := h.Next(stack, "web"); n != 1 {
			t.Errorf("Next(%q) = %d", stack, n)
		}
	}
	if err := h.Put("shop", revision("", 1, OutcomeDeployed)); err == nil {
		t.Error("Put without a service succeeded")
	}
	if err := h.Put("shop", revision("web", 0, OutcomeDeployed)); err == nil || !strings.Contains(err.Error(), "revision number 0") {
		t.Errorf("Put of revision 0: %v", err)
	}
	if _, err := OpenHistory(""); err == nil {
		t.Error("OpenHistory(\"\") succeeded")
	}
}

func TestHistoryCorruptFileIsNotOverwritten(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "shop.json")
	os.WriteFile(p, []byte("{not json"), 0o600)
	h, _ := OpenHistory(dir)
	err := h.Put("shop", revision("web", 1, OutcomeDeployed))
	if err == nil || !strings.Contains(err.Error(), "corrupt") {
		t.Fatalf("Put over a corrupt file: %v", err)
	}
	if raw, _ := os.ReadFile(p); string(raw) != "{not json" {
		t.Fatal("the corrupt file was overwritten")
	}
	if err := h.MarkInterrupted(); err == nil {
		t.Fatal("MarkInterrupted did not report the corrupt file")
	}
}

func TestHistoryMarkInterrupted(t *testing.T) {
	dir := t.TempDir()
	h, _ := OpenHistory(dir)
	h.Put("shop", revision("web", 1, OutcomeDeployed))
	h.Put("shop", revision("web", 2, OutcomeInProgress))
	h.Put("shop", revision("db", 1, OutcomeInProgress))
	h.Put("blog", revision("app", 1, OutcomeDeployed))
	// A leftover atomicfile temp file is not a stack.
	os.WriteFile(filepath.Join(dir, ".shop.json.tmp-1"), []byte("x"), 0o600)

	h2, _ := OpenHistory(dir) // the next daemon
	if err := h2.MarkInterrupted(); err != nil {
		t.Fatal(err)
	}
	h3, _ := OpenHistory(dir)
	for _, c := range []struct {
		stack, svc string
		n          int
		want       string
	}{{"shop", "web", 1, OutcomeDeployed}, {"shop", "web", 2, OutcomeInterrupted}, {"shop", "db", 1, OutcomeInterrupted}, {"blog", "app", 1, OutcomeDeployed}} {
		r, ok := h3.Get(c.stack, c.svc, c.n)
		if !ok || r.Outcome != c.want {
			t.Errorf("%s/%s %d: %q, want %q", c.stack, c.svc, c.n, r.Outcome, c.want)
		}
		if c.want == OutcomeInterrupted && (r.Reason == "" || r.Finished.IsZero()) {
			t.Errorf("%s/%s %d: no reason or finish time: %+v", c.stack, c.svc, c.n, r)
		}
	}
}

func TestHistoryConcurrentPuts(t *testing.T) {
	dir := t.TempDir()
	h, _ := OpenHistory(dir)
	var wg sync.WaitGroup
	for _, svc := range []string{"a", "b", "c", "d"} {
		wg.Go(func() {
			for n := 1; n <= 10; n++ {
				if err := h.Put("shop", revision(svc, n, OutcomeDeployed)); err != nil {
					t.Error(err)
				}
				h.List("shop", svc)
				h.Current("shop", svc)
			}
		})
	}
	wg.Wait()
	h2, _ := OpenHistory(dir)
	for _, svc := range []string{"a", "b", "c", "d"} {
		if n := len(h2.List("shop", svc)); n != 10 {
			t.Errorf("service %s: %d revisions after concurrent puts, want 10", svc, n)
		}
	}
}
