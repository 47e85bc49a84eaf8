package sbom

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
)

// BundlePredicateTypeAnnotation is the annotation cosign (and berth's
// signing attester) put on a sigstore bundle referrer holding an
// attestation.
const BundlePredicateTypeAnnotation = "dev.sigstore.bundle.predicateType"

// ReferrerPredicateType is the predicate type a referrer's manifest
// annotations announce ("" if none: not an attestation).
func ReferrerPredicateType(annotations map[string]string) string {
	if t := annotations[PredicateTypeAnnotation]; t != "" {
		return t
	}
	return annotations[BundlePredicateTypeAnnotation]
}

// StatementOf reads the in-toto statement a referrer's blob holds: the
// statement itself (unsigned), a DSSE envelope of it, or a sigstore bundle
// with such an envelope. The signature is not checked here.
func StatementOf(blob []byte) (*Statement, error) {
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
	switch {
	case probe.Type != "":
		return ParseStatement(blob)
	case probe.DSSEEnvelope != nil:
		payload, payloadType = probe.DSSEEnvelope.Payload, probe.DSSEEnvelope.PayloadType
	case payload == "":
		return nil, fmt.Errorf("attestation: neither an in-toto statement, a DSSE envelope nor a sigstore bundle")
	}
	if payloadType != StatementMediaType {
		return nil, fmt.Errorf("attestation: DSSE payloadType %q, want %s", payloadType, StatementMediaType)
	}
	raw, err := base64.StdEncoding.DecodeString(payload)
	if err != nil {
		if raw, err = base64.URLEncoding.DecodeString(payload); err != nil {
			return nil, fmt.Errorf("attestation: DSSE payload: %w", err)
		}
	}
	return ParseStatement(raw)
}
