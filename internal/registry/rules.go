package registry

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"strings"

	"github.com/opencontainers/go-digest"

	"github.com/berth-dev/berth/internal/registry/auth"
	"github.com/berth-dev/berth/internal/registry/errcode"
	"github.com/berth-dev/berth/internal/registry/metadata"
)

// RepositoryRule is an entry of berth-registry.yaml's repositories: the
// tag and pull rules of the repositories its patterns match. Every rule
// that matches a repository applies (the strictest wins).
type RepositoryRule struct {
	// Match are repository patterns as in auth rules ("team/**", "prod/*").
	Match []string `json:"match"`
	// ImmutableTags refuses a manifest PUT that would move an existing tag
	// to another digest, and deleting a tag (or a manifest a tag names).
	// cosign's tag-schema tags (sha256-<hex>[.sig|.att|.sbom]) stay mutable:
	// cosign and the referrers fallback rewrite them as signatures accrue.
	ImmutableTags bool `json:"immutableTags"`
	// RequireSignature refuses a GET/HEAD of a manifest by tag whose
	// digest has no signature. See SignatureRule.
	RequireSignature SignatureRule `json:"requireSignature"`
}

// SignatureRule is requireSignature: true (a signature must exist) or
// {keys: [FILE...]} (one must verify with one of the keys, through
// Config.SignatureChecker).
type SignatureRule struct {
	Enabled bool
	Keys    []string
}

// UnmarshalJSON accepts true/false or {"keys": [...]}.
func (s *SignatureRule) UnmarshalJSON(b []byte) error {
	var on bool
	if err := json.Unmarshal(b, &on); err == nil {
		*s = SignatureRule{Enabled: on}
		return nil
	}
	var v struct {
		Keys []string `json:"keys"`
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		return fmt.Errorf("requireSignature: want true, false or {keys: [FILE...]}: %v", err)
	}
	*s = SignatureRule{Enabled: true, Keys: v.Keys}
	return nil
}

// MarshalJSON writes the forms UnmarshalJSON reads.
func (s SignatureRule) MarshalJSON() ([]byte, error) {
	if len(s.Keys) == 0 {
		return json.Marshal(s.Enabled)
	}
	return json.Marshal(map[string][]string{"keys": s.Keys})
}

// SignatureChecker verifies signatures of a manifest cryptographically for
// requireSignature: {keys: [...]} (internal/trust implements it over
// internal/sign). It reads the signatures through local, the registry's
// in-process read port over repo (see Registry.LocalReader): never over
// the network, so it needs no credentials and cannot deadlock on the
// server's own listener.
type SignatureChecker interface {
	// LoadKey reads the public key file at path; err names the file. The
	// registry calls it once per key, when it opens (there is no
	// configuration reload: a changed key file takes a restart), so a pull
	// reads no key file.
	LoadKey(path string) (SignatureKey, error)
	// Verified reports whether a signature of manifest d in repo verifies
	// with one of keys (as LoadKey returned them). err is a failure to
	// check.
	Verified(ctx context.Context, local http.RoundTripper, repo string, d digest.Digest, keys []SignatureKey) (bool, error)
}

// SignatureKey is a public key a SignatureChecker loaded (internal/trust's
// is a *sign.PublicKey); the registry only hands it back to Verified.
type SignatureKey = any

type compiledRepoRule struct {
	patterns []auth.Pattern
	rule     RepositoryRule
	keys     []SignatureKey // rule.RequireSignature.Keys, loaded (by loadRuleKeys)
}

// compileRepoRules validates the rules; errors name the field.
func compileRepoRules(rules []RepositoryRule, haveChecker bool) ([]compiledRepoRule, error) {
	var out []compiledRepoRule
	for i, r := range rules {
		c := compiledRepoRule{rule: r}
		if len(r.Match) == 0 {
			return nil, fmt.Errorf("repositories[%d].match: empty; use [\"**\"] for every repository", i)
		}
		for j, p := range r.Match {
			pat, err := auth.CompilePattern(p)
			if err != nil {
				return nil, fmt.Errorf("repositories[%d].match[%d]: %w", i, j, err)
			}
			c.patterns = append(c.patterns, pat)
		}
		if len(r.RequireSignature.Keys) > 0 && !haveChecker {
			return nil, fmt.Errorf("repositories[%d].requireSignature.keys: verifying signatures with keys is not available in this build; use requireSignature: true (a signature must exist)", i)
		}
		for j, k := range r.RequireSignature.Keys {
			st, err := os.Stat(k)
			switch {
			case k == "":
				return nil, fmt.Errorf("repositories[%d].requireSignature.keys[%d]: empty path", i, j)
			case err != nil:
				return nil, fmt.Errorf("repositories[%d].requireSignature.keys[%d]: %v", i, j, err)
			case !st.Mode().IsRegular():
				return nil, fmt.Errorf("repositories[%d].requireSignature.keys[%d]: %s is not a regular file", i, j, k)
			}
		}
		out = append(out, c)
	}
	return out, nil
}

// loadRuleKeys loads the requireSignature keys of rules through checker
// (once, when the registry opens); errors name the field and the file.
func loadRuleKeys(rules []compiledRepoRule, checker SignatureChecker) error {
	for i := range rules {
		for j, path := range rules[i].rule.RequireSignature.Keys {
			k, err := checker.LoadKey(path)
			if err != nil {
				return fmt.Errorf("repositories[%d].requireSignature.keys[%d]: %w", i, j, err)
			}
			rules[i].keys = append(rules[i].keys, k)
		}
	}
	return nil
}

// repoPolicy is what the rules say for one repository.
type repoPolicy struct {
	immutableTags    bool
	requireSignature bool
	keys             []SignatureKey
}

func (r *Registry) repoPolicy(repo string) repoPolicy {
	var p repoPolicy
	for _, c := range r.repoRules {
		for _, pat := range c.patterns {
			if pat.Match(repo) {
				p.immutableTags = p.immutableTags || c.rule.ImmutableTags
				if c.rule.RequireSignature.Enabled {
					p.requireSignature = true
					p.keys = append(p.keys, c.keys...)
				}
				break
			}
		}
	}
	return p
}

// tagSchemaRE matches cosign's tag-schema tags and the referrers fallback
// tag: sha256-<hex>, with .sig, .att or .sbom.
var tagSchemaRE = regexp.MustCompile(`^sha(256|512)-[0-9a-f]{64,128}(\.(sig|att|sbom))?$`)

// isTagSchema reports whether tag is a signature/attestation bookkeeping
// tag, which immutableTags and requireSignature exempt.
func isTagSchema(tag string) bool { return tagSchemaRE.MatchString(tag) }

// Artifact types that are signatures.
const (
	artifactSigstoreBundle = "application/vnd.dev.sigstore.bundle.v0.3+json"
	artifactNotary         = "application/vnd.cncf.notary.signature"
	// predicateCosignSign marks a bundle that signs the image (others are
	// attestations: SBOMs, provenance).
	predicateCosignSign = "https://sigstore.dev/cosign/sign/v1"
)

// isSignature reports whether referrer m is a signature of its subject: a
// sigstore bundle that is not an attestation, or a Notary signature.
func isSignature(m metadata.Manifest) bool {
	switch m.ArtifactType {
	case artifactNotary:
		return true
	case artifactSigstoreBundle, "application/vnd.dev.sigstore.bundle+json;version=0.3", "application/vnd.dev.sigstore.bundle+json;version=0.2", "application/vnd.dev.sigstore.bundle+json;version=0.1":
		pt := m.Annotations["dev.sigstore.bundle.predicateType"]
		return pt == "" || pt == predicateCosignSign
	}
	return false
}

// signed reports whether manifest d of repo has a signature: a signature
// referrer, or cosign's sha256-<hex>.sig tag. With keys, the checker must
// verify one.
func (r *Registry) signed(ctx context.Context, repo string, d digest.Digest, keys []SignatureKey) (bool, error) {
	if len(keys) > 0 {
		return r.cfg.SignatureChecker.Verified(ctx, r.LocalReader(repo), repo, d, keys)
	}
	refs, err := r.meta.Referrers(repo, d)
	if err != nil {
		return false, err
	}
	for _, m := range refs {
		if isSignature(m) {
			return true, nil
		}
	}
	if _, err := r.meta.Resolve(repo, d.Algorithm().String()+"-"+d.Encoded()+".sig"); err == nil {
		return true, nil
	}
	return false, nil
}

// immutableTag returns the immutable-tag test of repo, nil when its tags
// are mutable.
func (r *Registry) immutableTag(repo string) func(tag string) bool {
	if !r.repoPolicy(repo).immutableTags {
		return nil
	}
	return func(tag string) bool { return !isTagSchema(tag) }
}

// immutableError turns an *ImmutableTagError into the spec's DENIED error
// (403) naming the repository and tag; other errors pass through.
func immutableError(repo string, err error, what string) error {
	var ie *metadata.ImmutableTagError
	if !errors.As(err, &ie) {
		return err
	}
	return &errcode.Error{Code: errcode.Denied,
		Message: fmt.Sprintf("tag %s:%s is immutable (it names %s) and cannot be %s; push a new tag", repo, ie.Tag, ie.Digest, what),
		Detail:  map[string]string{"name": repo, "tag": ie.Tag, "digest": string(ie.Digest)}}
}

// checkSignedPull refuses a GET/HEAD by tag of an unsigned manifest in a
// repository with requireSignature. By digest is allowed (signing tools
// fetch what they sign by digest), and so are the tag-schema tags and
// manifests with a subject (signatures and attestations themselves).
func (r *Registry) checkSignedPull(req *http.Request, rt route, m metadata.Manifest) error {
	if strings.Contains(rt.ref, ":") || isTagSchema(rt.ref) || m.Subject != "" {
		return nil
	}
	p := r.repoPolicy(rt.repo)
	if !p.requireSignature {
		return nil
	}
	ok, err := r.signed(req.Context(), rt.repo, m.Digest, p.keys)
	if err != nil {
		return err
	}
	if ok {
		return nil
	}
	what := "has no signature"
	if len(p.keys) > 0 {
		what = "has no signature that verifies with the repository's keys"
	}
	return &errcode.Error{Code: errcode.Denied,
		Message: fmt.Sprintf("%s:%s (%s) %s; this repository serves only signed images by tag (sign %s@%s)", rt.repo, rt.ref, m.Digest, what, rt.repo, m.Digest),
		Detail:  map[string]string{"name": rt.repo, "reference": rt.ref, "digest": string(m.Digest)}}
}
