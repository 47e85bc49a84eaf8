package vuln

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"time"
)

// Predicate renders the scan as cosign's vuln predicate
// (sigstore/cosign specs/COSIGN_VULN_ATTESTATION_SPEC.md): the scanner, its
// database and the result (this package's JSON result) with the scan's start
// and end times. The lead attaches it with sign.Attest(…, sign.PredicateVulnCosign, …).
func Predicate(r *Result, berthVersion string, dbStats Stats) ([]byte, error) {
	dbVersion := ""
	if !dbStats.Imported.IsZero() {
		dbVersion = dbStats.Imported.UTC().Format(time.RFC3339)
	}
	p := map[string]any{
		"invocation": map[string]any{
			"parameters": []string{},
			"uri":        "",
			"event_id":   "",
			"builder.id": "berth@" + berthVersion,
		},
		"scanner": map[string]any{
			"uri":     "pkg:golang/github.com/berth-dev/berth@" + berthVersion,
			"version": berthVersion,
			"db": map[string]any{
				"uri":     filepath.Base(r.Database), // the file's name: where it lives on this host is not published
				"version": dbVersion,
			},
			"result": r,
		},
		"metadata": map[string]any{
			"scanStartedOn":  r.StartedOn.Format(time.RFC3339),
			"scanFinishedOn": r.FinishedOn.Format(time.RFC3339),
		},
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false) // purls carry '&'
	if err := enc.Encode(p); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}
