package sbom

import (
	"encoding/json"
	"fmt"
	"strings"
)

// In-toto attestation framework v1.
const (
	StatementType = "https://in-toto.io/Statement/v1"
	// StatementMediaType is the media type of a statement (and a DSSE
	// envelope's payloadType).
	StatementMediaType = "application/vnd.in-toto+json"
	// PredicateTypeAnnotation names the predicate type on an unsigned
	// statement's referrer manifest (as BuildKit annotates its layers).
	PredicateTypeAnnotation = "in-toto.io/predicate-type"
)

// Statement is an in-toto v1 statement.
type Statement struct {
	Type          string          `json:"_type"`
	Subject       []Subject       `json:"subject"`
	PredicateType string          `json:"predicateType"`
	Predicate     json.RawMessage `json:"predicate"`
}

// Subject is what a statement is about.
type Subject struct {
	Name   string            `json:"name"`
	Digest map[string]string `json:"digest"`
}

// NewStatement wraps predicate (JSON) into a statement about the image
// name with manifest digest (sha256:…).
func NewStatement(name, digest, predicateType string, predicate []byte) ([]byte, error) {
	hex, ok := strings.CutPrefix(digest, "sha256:")
	if !ok || len(hex) != 64 {
		return nil, fmt.Errorf("statement subject %s: digest %q is not sha256:<64 hex>", name, digest)
	}
	if !json.Valid(predicate) {
		return nil, fmt.Errorf("statement about %s: predicate %s is not JSON", name, predicateType)
	}
	return json.Marshal(Statement{Type: StatementType, Subject: []Subject{{Name: name, Digest: map[string]string{"sha256": hex}}},
		PredicateType: predicateType, Predicate: predicate})
}

// ParseStatement reads a statement (v1, or v0.1 as older tools write).
func ParseStatement(data []byte) (*Statement, error) {
	var s Statement
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("in-toto statement: %w", err)
	}
	if s.Type != StatementType && s.Type != "https://in-toto.io/Statement/v0.1" {
		return nil, fmt.Errorf("in-toto statement: _type %q", s.Type)
	}
	if s.PredicateType == "" || len(s.Predicate) == 0 {
		return nil, fmt.Errorf("in-toto statement: no predicateType or predicate")
	}
	return &s, nil
}
