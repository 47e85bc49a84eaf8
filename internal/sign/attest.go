package sign

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
)

// Well-known predicate types (cosign verify-attestation --type names in
// comments).
const (
	PredicateSPDX       = "https://spdx.dev/Document"      // spdxjson
	PredicateCycloneDX  = "https://cyclonedx.org/bom"      // cyclonedx
	PredicateSLSA1      = "https://slsa.dev/provenance/v1" // slsaprovenance1
	PredicateVulnCosign = "https://cosign.sigstore.dev/attestation/vuln/v1"
)

// AttestOptions tune Attest.
type AttestOptions struct {
	Options
	// Formats of a signed attestation: FormatBundle (a sigstore bundle
	// referrer, as cosign attest --new-bundle-format) and/or FormatLegacy
	// (a DSSE envelope layer with a predicateType annotation in the
	// <repo>:sha256-<hex>.att tag, as cosign v2's attest). nil: bundle only.
	// Note cosign v2.6 verify-attestation reads only the bundles when an
	// image has any.
	Formats []Format
}

func (o AttestOptions) has(f Format) bool {
	if len(o.Formats) == 0 {
		return f == FormatBundle
	}
	for _, g := range o.Formats {
		if g == f {
			return true
		}
	}
	return false
}

// AttestResult says where Attest put the attestation.
type AttestResult struct {
	Ref      string `json:"ref"`
	Digest   string `json:"digest"`
	Referrer string `json:"referrer,omitempty"` // repo@sha256:… of the referrer manifest
	Tag      string `json:"tag,omitempty"`      // the .att tag, with Legacy
	Signed   bool   `json:"signed"`
}

// Attest attaches an in-toto v1 statement about the manifest ref names
// (resolved once; subject = its digest) with the predicate. With a key the
// statement is signed in a DSSE envelope and attached in o.Formats: as a
// sigstore bundle referrer (cosign verify-attestation --new-bundle-format
// accepts it) and/or a layer of the .att tag (cosign v2 verify-attestation's
// layout). Without a key (k nil) the bare statement is attached as a
// referrer of artifactType application/vnd.in-toto+json, annotated with its
// predicate type.
func Attest(ctx context.Context, ref, predicateType string, predicate []byte, k *PrivateKey, o AttestOptions) (*AttestResult, error) {
	if predicateType == "" {
		return nil, errors.New("empty predicate type")
	}
	if !json.Valid(predicate) {
		return nil, fmt.Errorf("predicate for %s is not valid JSON", predicateType)
	}
	for _, f := range o.Formats {
		if f != FormatBundle && f != FormatLegacy {
			return nil, fmt.Errorf("unknown attestation format %q", f)
		}
	}
	if k == nil && o.has(FormatLegacy) {
		return nil, errors.New("the legacy .att format needs a signing key")
	}
	t, err := resolve(ctx, ref, o.Options)
	if err != nil {
		return nil, err
	}
	res := &AttestResult{Ref: t.digest.String(), Digest: t.Digest(), Signed: k != nil}
	if k == nil {
		st, err := newStatement(t.repo.Name(), t.Digest(), predicateType, predicate, nil)
		if err != nil {
			return nil, err
		}
		h, err := writeReferrer(t, IntotoPayloadType, IntotoPayloadType, st, map[string]string{
			annotationCreated:        created(),
			annotationIntotoPredType: predicateType,
		})
		if err != nil {
			return nil, err
		}
		res.Referrer = t.repo.Digest(h.String()).String()
		return res, nil
	}
	if o.has(FormatBundle) {
		h, err := attachBundle(ctx, t, k, t.repo.Name(), predicateType, predicate, nil)
		if err != nil {
			return nil, err
		}
		res.Referrer = t.repo.Digest(h.String()).String()
	}
	if o.has(FormatLegacy) {
		st, err := newStatement(t.repo.Name(), t.Digest(), predicateType, predicate, nil)
		if err != nil {
			return nil, err
		}
		env, err := envelope(ctx, k, st)
		if err != nil {
			return nil, err
		}
		blob, err := json.Marshal(env)
		if err != nil {
			return nil, err
		}
		tag, err := appendToTag(t, ".att", dsseMediaType, blob, map[string]string{
			annotationPredicateType: predicateType,
			// cosign reads .att layers as signatures: the annotation must be
			// there, empty (the signature is inside the envelope).
			annotationSignature: "",
		})
		if err != nil {
			return nil, err
		}
		res.Tag = tag.String()
	}
	return res, nil
}

// Attestation is one attestation of an image.
type Attestation struct {
	PredicateType string     `json:"predicateType"`
	Format        Format     `json:"format"` // bundle, legacy (.att) or statement (unsigned)
	Source        string     `json:"source"`
	Signed        bool       `json:"signed"`
	Verified      bool       `json:"verified"`      // signature checked against a given key
	Key           string     `json:"key,omitempty"` // the key file that verified it
	Statement     *Statement `json:"statement"`
}

// VerifyAttestations returns the attestations of the manifest ref names
// whose DSSE signature verifies under one of keys, whose statement is
// about that manifest's digest, and (predicateType != "") of that
// predicate type. Cosign's signatures (predicate sign/v1) are not
// attestations and are skipped unless asked for by type. No verified
// attestation is a *NotVerifiedError.
func VerifyAttestations(ctx context.Context, ref string, keys []*PublicKey, predicateType string, o Options) ([]Attestation, error) {
	if len(keys) == 0 {
		return nil, errors.New("no public key given")
	}
	t, err := resolve(ctx, ref, o)
	if err != nil {
		return nil, err
	}
	var rejected []Rejection
	all, err := discoverAttestations(t, predicateType)
	if err != nil {
		rejected = append(rejected, Rejection{"registry", err.Error()})
	}
	var out []Attestation
	for _, f := range all {
		if f.err != nil {
			rejected = append(rejected, Rejection{f.source, f.err.Error()})
			continue
		}
		if f.envelope == nil {
			continue // unsigned: nothing to verify
		}
		st, key, err := openEnvelope(ctx, f.envelope, keys)
		if err != nil {
			rejected = append(rejected, Rejection{f.source, err.Error()})
			continue
		}
		if !wantPredicate(predicateType, st.PredicateType) {
			continue
		}
		if !st.About(t.Digest()) {
			rejected = append(rejected, Rejection{f.source, fmt.Sprintf("signed statement is about %s, not %s", subjects(st), t.Digest())})
			continue
		}
		out = append(out, Attestation{PredicateType: st.PredicateType, Format: f.format, Source: f.source, Signed: true, Verified: true, Key: key.Path, Statement: st})
	}
	if len(out) == 0 {
		return nil, &NotVerifiedError{Ref: t.digest.String(), Digest: t.Digest(), What: "attestation", Rejected: rejected}
	}
	return out, nil
}

// ListAttestations returns every attestation attached to the manifest ref
// names, signed or not, without checking signatures (Verified false):
// for showing what is there. predicateType "" means all types.
func ListAttestations(ctx context.Context, ref, predicateType string, o Options) ([]Attestation, error) {
	t, err := resolve(ctx, ref, o)
	if err != nil {
		return nil, err
	}
	all, err := discoverAttestations(t, predicateType)
	if err != nil {
		return nil, err
	}
	var out []Attestation
	for _, f := range all {
		if f.err != nil {
			continue
		}
		a := Attestation{Format: f.format, Source: f.source, Signed: f.envelope != nil}
		body := f.plain
		if f.envelope != nil {
			if body, err = f.envelope.DecodeB64Payload(); err != nil {
				continue
			}
		}
		st, err := ParseStatement(body)
		if err != nil || !wantPredicate(predicateType, st.PredicateType) || !st.About(t.Digest()) {
			continue
		}
		a.PredicateType, a.Statement = st.PredicateType, st
		out = append(out, a)
	}
	return out, nil
}

func wantPredicate(want, got string) bool {
	if want == "" {
		return got != CosignSignPredicate
	}
	return want == got
}

// discoverAttestations gathers the referrers and the .att tag layers.
func discoverAttestations(t *target, predicateType string) ([]found, error) {
	refs, rerr := discoverReferrers(t, func(pt string) bool { return wantPredicate(predicateType, pt) })
	att, aerr := discoverTag(t, ".att", dsseMediaType)
	var all []found
	for _, f := range append(refs, att...) {
		if f.predHint != "" && !wantPredicate(predicateType, f.predHint) {
			continue
		}
		all = append(all, f)
	}
	return all, errors.Join(rerr, aerr)
}

// predicateNames are cosign's --type short names.
var predicateNames = map[string]string{
	"spdxjson":         PredicateSPDX,
	"spdx":             PredicateSPDX,
	"cyclonedx":        PredicateCycloneDX,
	"slsaprovenance":   "https://slsa.dev/provenance/v0.2",
	"slsaprovenance02": "https://slsa.dev/provenance/v0.2",
	"slsaprovenance1":  PredicateSLSA1,
	"link":             "https://in-toto.io/Link/v1",
	"vuln":             PredicateVulnCosign,
	"openvex":          "https://openvex.dev/ns",
	"custom":           "https://cosign.sigstore.dev/attestation/v1",
}

// PredicateTypeFromName maps cosign's --type names to predicate type
// URIs; anything else is taken as a URI already.
func PredicateTypeFromName(s string) string {
	if u, ok := predicateNames[s]; ok {
		return u
	}
	return s
}
