package sign

import (
	"encoding/json"
	"errors"
	"fmt"
)

// PredicateTypeAnnotation names the predicate type on the referrer manifest
// of an unsigned statement (as BuildKit annotates its attestation layers).
const PredicateTypeAnnotation = annotationIntotoPredType

// ReferrerPredicateType is the predicate type a referrer's manifest
// annotations announce — an unsigned statement's or a sigstore bundle's —
// or "" (not an attestation).
func ReferrerPredicateType(annotations map[string]string) string {
	if t := annotations[annotationIntotoPredType]; t != "" {
		return t
	}
	return annotations[annotationBundlePredType]
}

// StatementOf reads the in-toto statement a referrer's blob holds: the
// statement itself (unsigned), a DSSE envelope of it, or a sigstore bundle
// with such an envelope. Nothing is verified: this is for showing what is
// attached (berth sbom); Verify and VerifyAttestations check signatures.
func StatementOf(blob []byte) (*Statement, error) {
	if len(blob) > MaxPayload {
		return nil, fmt.Errorf("attestation of %d bytes is too large", len(blob))
	}
	var probe struct {
		Type         string `json:"_type"`
		Payload      string `json:"payload"`
		PayloadType  string `json:"payloadType"`
		DSSEEnvelope *struct {
			Payload     string `json:"payload"`
			PayloadType string `json:"payloadType"`
		} `json:"dsseEnvelope"`
	}
	if err := json.Unmarshal(blob, &probe); err != nil {
		return nil, fmt.Errorf("attestation: %w", err)
	}
	payload, payloadType := probe.Payload, probe.PayloadType
	raw := blob
	switch {
	case probe.Type != "":
	case probe.DSSEEnvelope != nil:
		payload, payloadType = probe.DSSEEnvelope.Payload, probe.DSSEEnvelope.PayloadType
		fallthrough
	default:
		if payload == "" {
			return nil, errors.New("attestation: neither an in-toto statement, a DSSE envelope nor a sigstore bundle")
		}
		if payloadType != IntotoPayloadType {
			return nil, fmt.Errorf("attestation: DSSE payloadType %q, want %s", payloadType, IntotoPayloadType)
		}
		var err error
		if raw, err = decodeB64(payload); err != nil {
			return nil, fmt.Errorf("attestation: DSSE payload: %w", err)
		}
	}
	s, err := ParseStatement(raw)
	if err != nil {
		return nil, fmt.Errorf("attestation: %w", err)
	}
	if len(s.Predicate) == 0 || string(s.Predicate) == "null" {
		return nil, errors.New("attestation: in-toto statement without a predicate")
	}
	return s, nil
}
