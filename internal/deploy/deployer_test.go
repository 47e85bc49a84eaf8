package deploy

import "testing"

// TestResumable: only the newest revision, only when a daemon stop
// interrupted it, only for the same config hash, never for rollbacks, and
// not when it is already what runs.
func TestResumable(t *testing.T) {
	h, err := OpenHistory(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	d := &Deployer{hist: h}
	for _, r := range []Revision{revision("web", 1, OutcomeDeployed), revision("web", 2, OutcomeInterrupted)} {
		if err := h.Put("shop", r); err != nil {
			t.Fatal(err)
		}
	}
	one := revision("web", 1, OutcomeDeployed)
	two := revision("web", 2, OutcomeInterrupted)
	if got, ok := d.resumable("shop", "web", "hash2", 0, &one); !ok || got.Number != 2 {
		t.Errorf("same hash after an interruption: %v %v, want revision 2", got, ok)
	}
	for _, tc := range []struct {
		name, hash string
		rollbackOf int
		from       *Revision
	}{
		{"another config", "hash9", 0, &one},
		{"a rollback", "hash2", 1, &one},
		{"already what runs", "hash2", 0, &two},
		{"another service", "hash2", 0, nil},
	} {
		svc := "web"
		if tc.name == "another service" {
			svc = "db"
		}
		if got, ok := d.resumable("shop", svc, tc.hash, tc.rollbackOf, tc.from); ok {
			t.Errorf("%s: resumes %v", tc.name, got)
		}
	}

	// Once a later revision exists, the interrupted one is history.
	if err := h.Put("shop", revision("web", 3, OutcomeRolledBack)); err != nil {
		t.Fatal(err)
	}
	if got, ok := d.resumable("shop", "web", "hash2", 0, &one); ok {
		t.Errorf("an older interrupted revision resumes: %v", got)
	}
	// A rollback that was interrupted is not resumed by a plain deploy.
	rb := revision("web", 4, OutcomeInterrupted)
	rb.RollbackOf = 1
	if err := h.Put("shop", rb); err != nil {
		t.Fatal(err)
	}
	if got, ok := d.resumable("shop", "web", "hash4", 0, &one); ok {
		t.Errorf("an interrupted rollback resumes as a deploy: %v", got)
	}
}
