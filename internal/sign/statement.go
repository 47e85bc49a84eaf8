package sign

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/secure-systems-lab/go-securesystemslib/dsse"
)

// In-toto and cosign constants.
const (
	StatementType       = "https://in-toto.io/Statement/v1"
	statementTypeV01    = "https://in-toto.io/Statement/v0.1"
	IntotoPayloadType   = "application/vnd.in-toto+json"
	CosignSignPredicate = "https://sigstore.dev/cosign/sign/v1"
)

// Statement is an in-toto v1 statement.
type Statement struct {
	Type          string          `json:"_type"`
	Subject       []Subject       `json:"subject"`
	PredicateType string          `json:"predicateType"`
	Predicate     json.RawMessage `json:"predicate,omitempty"`
}

// Subject is one subject of a statement.
type Subject struct {
	Name   string            `json:"name,omitempty"`
	Digest map[string]string `json:"digest"`
	// Annotations of a signature's subject: where cosign v3 puts -a
	// annotations of bundle signatures (and checks them on verify).
	Annotations map[string]any `json:"annotations,omitempty"`
}

// newStatement returns the statement about the manifest digest (sha256:hex)
// named name ("" for none) with the subject's annotations.
func newStatement(name, digest, predicateType string, predicate []byte, annotations map[string]string) ([]byte, error) {
	alg, hex, ok := splitDigest(digest)
	if !ok {
		return nil, fmt.Errorf("invalid digest %q", digest)
	}
	if predicate != nil && !json.Valid(predicate) {
		return nil, errors.New("predicate is not valid JSON")
	}
	return json.Marshal(Statement{
		Type:          StatementType,
		Subject:       []Subject{{Name: name, Digest: map[string]string{alg: hex}, Annotations: anyMap(annotations)}},
		PredicateType: predicateType,
		Predicate:     predicate,
	})
}

// ParseStatement decodes an in-toto statement (v1 or v0.1).
func ParseStatement(b []byte) (*Statement, error) {
	var s Statement
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("in-toto statement: %v", err)
	}
	if s.Type != StatementType && s.Type != statementTypeV01 {
		return nil, fmt.Errorf("in-toto statement: _type %q, want %q", s.Type, StatementType)
	}
	if s.PredicateType == "" {
		return nil, errors.New("in-toto statement: empty predicateType")
	}
	return &s, nil
}

// About reports whether one of s's subjects is the manifest digest.
func (s *Statement) About(digest string) bool { return s.subject(digest) != nil }

// subject returns the subject that is the manifest digest, or nil.
func (s *Statement) subject(digest string) *Subject {
	alg, hex, ok := splitDigest(digest)
	if !ok {
		return nil
	}
	for i := range s.Subject {
		if s.Subject[i].Digest[alg] == hex {
			return &s.Subject[i]
		}
	}
	return nil
}

// envelope signs the statement into a DSSE envelope (one signature, no
// key id, as cosign).
func envelope(ctx context.Context, k *PrivateKey, statement []byte) (*dsse.Envelope, error) {
	es, err := dsse.NewEnvelopeSigner(dsseSigner{k})
	if err != nil {
		return nil, err
	}
	return es.SignPayload(ctx, IntotoPayloadType, statement)
}

// openEnvelope verifies e against any of keys and returns the statement.
func openEnvelope(ctx context.Context, e *dsse.Envelope, keys []*PublicKey) (*Statement, *PublicKey, error) {
	if e.PayloadType != IntotoPayloadType {
		return nil, nil, fmt.Errorf("DSSE payloadType %q, want %q", e.PayloadType, IntotoPayloadType)
	}
	if len(e.Signatures) == 0 {
		return nil, nil, errors.New("DSSE envelope has no signature")
	}
	for _, k := range keys {
		ev, err := dsse.NewEnvelopeVerifier(dsseVerifier{k})
		if err != nil {
			return nil, nil, err
		}
		_, body, err := ev.VerifyAndDecode(ctx, e)
		if err != nil {
			continue
		}
		s, err := ParseStatement(body)
		if err != nil {
			return nil, nil, err
		}
		return s, k, nil
	}
	return nil, nil, fmt.Errorf("DSSE %w any of the %d key(s)", errBadSignature, len(keys))
}

func splitDigest(d string) (alg, hex string, ok bool) {
	for i := 0; i < len(d); i++ {
		if d[i] == ':' {
			return d[:i], d[i+1:], i > 0 && i < len(d)-1
		}
	}
	return "", "", false
}
