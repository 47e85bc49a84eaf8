package sign

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/secure-systems-lab/go-securesystemslib/dsse"
)

// Sigstore bundle media types.
const (
	BundleMediaType = "application/vnd.dev.sigstore.bundle.v0.3+json"
	bundlePrefix    = "application/vnd.dev.sigstore.bundle"
)

// bundle is the protobuf-JSON sigstore bundle, the parts berth writes and
// reads: a public-key hint and a DSSE envelope. Certificates and tlog
// entries cosign may add are accepted and ignored (nothing online is
// checked).
type bundle struct {
	MediaType            string               `json:"mediaType"`
	VerificationMaterial verificationMaterial `json:"verificationMaterial"`
	DSSEEnvelope         *bundleEnvelope      `json:"dsseEnvelope,omitempty"`
	MessageSignature     json.RawMessage      `json:"messageSignature,omitempty"`
}

type verificationMaterial struct {
	PublicKey *struct {
		Hint string `json:"hint"`
	} `json:"publicKey,omitempty"`
	Certificate          json.RawMessage `json:"certificate,omitempty"`
	X509CertificateChain json.RawMessage `json:"x509CertificateChain,omitempty"`
	TlogEntries          json.RawMessage `json:"tlogEntries,omitempty"`
	TimestampData        json.RawMessage `json:"timestampVerificationData,omitempty"`
}

// bundleEnvelope is protobuf JSON of a DSSE envelope: bytes fields are
// base64 (std; URL-safe accepted on read).
type bundleEnvelope struct {
	Payload     string `json:"payload"`
	PayloadType string `json:"payloadType"`
	Signatures  []struct {
		Sig   string `json:"sig"`
		KeyID string `json:"keyid,omitempty"`
	} `json:"signatures"`
}

// newBundle wraps a signed envelope with the key's hint.
func newBundle(e *dsse.Envelope, pub *PublicKey) ([]byte, error) {
	if len(e.Signatures) != 1 {
		return nil, fmt.Errorf("envelope has %d signatures, a bundle holds exactly one", len(e.Signatures))
	}
	b := bundle{MediaType: BundleMediaType, DSSEEnvelope: &bundleEnvelope{Payload: e.Payload, PayloadType: e.PayloadType}}
	b.VerificationMaterial.PublicKey = &struct {
		Hint string `json:"hint"`
	}{pub.Hint()}
	b.DSSEEnvelope.Signatures = append(b.DSSEEnvelope.Signatures, struct {
		Sig   string `json:"sig"`
		KeyID string `json:"keyid,omitempty"`
	}{Sig: e.Signatures[0].Sig})
	return json.Marshal(b)
}

// isBundleMediaType reports whether mt names a sigstore bundle (v0.1-0.3).
func isBundleMediaType(mt string) bool {
	switch mt {
	case BundleMediaType, bundlePrefix + "+json;version=0.1", bundlePrefix + "+json;version=0.2", bundlePrefix + "+json;version=0.3":
		return true
	}
	return false
}

// ParseBundle decodes a sigstore bundle and returns its DSSE envelope.
// Bundles holding a message signature instead (cosign sign-blob) are
// refused: images are signed through DSSE.
func ParseBundle(b []byte) (*dsse.Envelope, error) {
	if len(b) > MaxPayload {
		return nil, fmt.Errorf("bundle of %d bytes is too large", len(b))
	}
	var bu bundle
	if err := json.Unmarshal(b, &bu); err != nil {
		return nil, fmt.Errorf("sigstore bundle: %v", err)
	}
	if !isBundleMediaType(bu.MediaType) {
		return nil, fmt.Errorf("sigstore bundle: mediaType %q unsupported", bu.MediaType)
	}
	if bu.DSSEEnvelope == nil {
		if bu.MessageSignature != nil {
			return nil, errors.New("sigstore bundle: holds a messageSignature, not a DSSE envelope")
		}
		return nil, errors.New("sigstore bundle: no dsseEnvelope")
	}
	if len(bu.DSSEEnvelope.Signatures) != 1 {
		return nil, fmt.Errorf("sigstore bundle: %d DSSE signatures, want exactly 1", len(bu.DSSEEnvelope.Signatures))
	}
	e := &dsse.Envelope{PayloadType: bu.DSSEEnvelope.PayloadType}
	// Normalise to std base64 (the dsse package accepts both on decode,
	// this keeps errors early and clear).
	payload, err := decodeB64(bu.DSSEEnvelope.Payload)
	if err != nil {
		return nil, fmt.Errorf("sigstore bundle: dsseEnvelope.payload: %v", err)
	}
	e.Payload = base64.StdEncoding.EncodeToString(payload)
	for _, s := range bu.DSSEEnvelope.Signatures {
		sig, err := decodeB64(s.Sig)
		if err != nil {
			return nil, fmt.Errorf("sigstore bundle: dsseEnvelope.signatures[0].sig: %v", err)
		}
		e.Signatures = append(e.Signatures, dsse.Signature{KeyID: s.KeyID, Sig: base64.StdEncoding.EncodeToString(sig)})
	}
	return e, nil
}

// ParseEnvelope decodes a DSSE envelope as JSON (the legacy .att layer).
func ParseEnvelope(b []byte) (*dsse.Envelope, error) {
	if len(b) > MaxPayload {
		return nil, fmt.Errorf("envelope of %d bytes is too large", len(b))
	}
	var e dsse.Envelope
	if err := json.Unmarshal(b, &e); err != nil {
		return nil, fmt.Errorf("DSSE envelope: %v", err)
	}
	if _, err := e.DecodeB64Payload(); err != nil {
		return nil, fmt.Errorf("DSSE envelope: payload: %v", err)
	}
	return &e, nil
}

func decodeB64(s string) ([]byte, error) {
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			return b, nil
		}
	}
	return nil, errors.New("not base64")
}
