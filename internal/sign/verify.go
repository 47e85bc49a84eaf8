package sign

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// VerifyOptions tune Verify.
type VerifyOptions struct {
	Options
	// Annotations must all be present with these values in a signature
	// for it to count.
	Annotations map[string]string
}

// Signature is one verified signature of an image.
type Signature struct {
	Format      Format            `json:"format"`
	Source      string            `json:"source"`
	Key         string            `json:"key"` // the public key file that verified it
	Annotations map[string]string `json:"annotations,omitempty"`
}

// Rejection is a signature found but not accepted, and why.
type Rejection struct {
	Source string `json:"source"`
	Reason string `json:"reason"`
}

// Result is what Verify found about an image.
type Result struct {
	Ref        string      `json:"ref"`    // repo@sha256:… verified
	Digest     string      `json:"digest"` // the manifest digest
	Signatures []Signature `json:"signatures"`
	Rejected   []Rejection `json:"rejected,omitempty"`
	// Offline is always true: keys only, no transparency log, no
	// certificates, no timestamps were consulted.
	Offline bool `json:"offline"`
}

// NotVerifiedError is returned when no signature (or attestation) of the
// image verifies; it lists what was found and why each was refused.
type NotVerifiedError struct {
	Ref, Digest string
	What        string // "signature" or "attestation"
	Rejected    []Rejection
}

func (e *NotVerifiedError) Error() string {
	if len(e.Rejected) == 0 {
		return fmt.Sprintf("%s: no %ss found for %s", e.Ref, e.What, e.Digest)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s: no valid %s for %s (%d found, none verified)", e.Ref, e.What, e.Digest, len(e.Rejected))
	for _, r := range e.Rejected {
		fmt.Fprintf(&b, "\n  %s: %s", r.Source, r.Reason)
	}
	return b.String()
}

// Verify checks the signatures of the manifest ref names (a tag is
// resolved once) in both formats — bundle referrers (through the referrers
// API or the sha256-<hex> tag index) and the legacy .sig tag — against
// keys. It succeeds when at least one signature verifies under one key,
// claims exactly this manifest's digest and carries o.Annotations;
// otherwise it returns a *NotVerifiedError naming every refusal.
func Verify(ctx context.Context, ref string, keys []*PublicKey, o VerifyOptions) (*Result, error) {
	if len(keys) == 0 {
		return nil, errors.New("no public key given")
	}
	t, err := resolve(ctx, ref, o.Options)
	if err != nil {
		return nil, err
	}
	res := &Result{Ref: t.digest.String(), Digest: t.Digest(), Offline: true}
	reject := func(src string, err error) { res.Rejected = append(res.Rejected, Rejection{src, err.Error()}) }

	bundles, err := discoverReferrers(t, func(pt string) bool { return pt == CosignSignPredicate })
	if err != nil {
		reject("referrers", err)
	}
	for _, f := range bundles {
		if f.err != nil {
			reject(f.source, f.err)
			continue
		}
		if f.envelope == nil {
			continue // an unsigned statement is no signature
		}
		st, key, err := openEnvelope(ctx, f.envelope, keys)
		if err != nil {
			reject(f.source, err)
			continue
		}
		if st.PredicateType != CosignSignPredicate {
			continue // an attestation, not a signature
		}
		if !st.About(t.Digest()) {
			reject(f.source, fmt.Errorf("signed statement is about %s, not %s", subjects(st), t.Digest()))
			continue
		}
		ann := st.subject(t.Digest()).Annotations
		if err := annotationsMatch(o.Annotations, ann); err != nil {
			reject(f.source, err)
			continue
		}
		res.Signatures = append(res.Signatures, Signature{Format: FormatBundle, Source: f.source, Key: key.Path, Annotations: stringMap(ann)})
	}

	legacy, err := discoverTag(t, ".sig", simplesigningMediaType)
	if err != nil {
		reject(t.tag(".sig").String(), err)
	}
	for _, f := range legacy {
		if f.err != nil {
			reject(f.source, f.err)
			continue
		}
		sig, err := decodeB64(f.sig)
		if f.sig == "" || err != nil {
			reject(f.source, fmt.Errorf("annotation %s missing or not base64", annotationSignature))
			continue
		}
		var key *PublicKey
		for _, k := range keys {
			if k.verifyMessage(f.payload, sig) == nil {
				key = k
				break
			}
		}
		if key == nil {
			reject(f.source, fmt.Errorf("%w any of the %d key(s)", errBadSignature, len(keys)))
			continue
		}
		d, optional, err := ParseSimplesigning(f.payload)
		if err != nil {
			reject(f.source, err)
			continue
		}
		if d != t.Digest() {
			reject(f.source, fmt.Errorf("signed payload claims %s, not %s", d, t.Digest()))
			continue
		}
		if err := annotationsMatch(o.Annotations, optional); err != nil {
			reject(f.source, err)
			continue
		}
		res.Signatures = append(res.Signatures, Signature{Format: FormatLegacy, Source: f.source, Key: key.Path, Annotations: stringMap(optional)})
	}
	if len(res.Signatures) == 0 {
		return res, &NotVerifiedError{Ref: res.Ref, Digest: res.Digest, What: "signature", Rejected: res.Rejected}
	}
	return res, nil
}

func subjects(st *Statement) string {
	var s []string
	for _, sub := range st.Subject {
		for alg, h := range sub.Digest {
			s = append(s, alg+":"+h)
		}
	}
	if len(s) == 0 {
		return "no subject"
	}
	return strings.Join(s, ", ")
}

func anyMap(m map[string]string) map[string]any {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func stringMap(m map[string]any) map[string]string {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = fmt.Sprint(v)
	}
	return out
}
