package policy

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
)

// SBOM predicate types an EvidenceFinder looks for (the in-toto URIs
// internal/sign's PredicateSPDX and PredicateCycloneDX name too; policy
// imports nothing of berth, and trust's TestPredicateTypesAgree keeps the
// two equal).
const (
	PredicateSPDX      = "https://spdx.dev/Document"
	PredicateCycloneDX = "https://cyclonedx.org/bom"
)

// SignatureVerifier checks signatures of an image (internal/sign after the
// merge).
type SignatureVerifier interface {
	// Verify reports whether a signature of the manifest ref (always
	// REPO@sha256:…) verifies with one of keys. ok=false with a nil error
	// means none does; detail then says what was found (e.g. "2
	// signatures, none verifies", "no signature"). err is a failure to
	// check (registry unreachable), never "unsigned".
	Verify(ctx context.Context, ref string, keys []Key) (ok bool, detail string, err error)
}

// EvidenceFinder finds attestations attached to an image.
type EvidenceFinder interface {
	// HasAttestation reports whether an attestation of one of
	// predicateTypes is attached to the manifest ref (REPO@sha256:…).
	HasAttestation(ctx context.Context, ref string, predicateTypes []string) (bool, error)
}

// Finding is one vulnerability a scan reports (after VEX).
type Finding struct {
	ID       string // advisory id, e.g. GO-2024-2687 or DSA-5678-1
	Package  string // name (or purl)
	Version  string // installed
	Fixed    string // "" when unfixed
	Severity Severity
}

func (f Finding) String() string {
	s := fmt.Sprintf("%s (%s) in %s", f.ID, f.Severity, f.Package)
	if f.Version != "" {
		s += " " + f.Version
	}
	if f.Fixed != "" {
		s += ", fixed in " + f.Fixed
	} else {
		s += ", no fix yet"
	}
	return s
}

// Scanner scans images (internal/trust over internal/vuln).
type Scanner interface {
	// Open readies the scans of one gate run against the VEX documents
	// (files or directories): what they share — the vulnerability
	// database, the VEX — is read once, here, for all the run's images.
	Open(vex []string) (ScanSession, error)
}

// ScanSession is a Scanner opened for one gate run.
type ScanSession interface {
	// Scan returns the vulnerabilities of the manifest ref (REPO@sha256:…)
	// that the session's VEX documents do not mark not_affected or fixed.
	Scan(ctx context.Context, ref string) ([]Finding, error)
	// Close releases what Open opened.
	Close() error
}

// Signer signs an image with the key ship was given (internal/sign after
// the merge): ship signs before the gate when the policy requires
// signatures.
type Signer interface {
	// Sign signs the manifest ref (REPO@sha256:…) and attaches the
	// signature in its registry.
	Sign(ctx context.Context, ref string) error
}

// Gate evaluates one environment's policy. A nil port whose rule is set
// fails closed: the image is refused with "... not available". A gate is
// one run over the images of a deploy, ship or promote: the scanner is
// opened at the first image max_severity checks and stays open for the
// others until Close.
type Gate struct {
	Env      string
	Policy   *Policy
	Verifier SignatureVerifier
	Evidence EvidenceFinder
	Scanner  Scanner

	mu   sync.Mutex
	scan ScanSession // opened by the first scan, until Close
}

// Close ends the gate's run: it releases the scanner session its checks
// opened, if any. A nil gate is fine; a Check after Close opens a new
// session.
func (g *Gate) Close() error {
	if g == nil {
		return nil
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.scan == nil {
		return nil
	}
	err := g.scan.Close()
	g.scan = nil
	return err
}

// scanner returns the run's scanner session, opening it (with the
// policy's VEX) on first use.
func (g *Gate) scanner() (ScanSession, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.scan == nil {
		s, err := g.Scanner.Open(g.Policy.VEX)
		if err != nil {
			return nil, err
		}
		g.scan = s
	}
	return g.scan, nil
}

// Refusal is a policy decision against an image: which environment, image,
// rule and finding.
type Refusal struct {
	Env, Image, Rule, Finding string
}

func (r *Refusal) Error() string {
	return fmt.Sprintf("policy of environment %q: image %s refused: %s: %s", r.Env, r.Image, r.Rule, r.Finding)
}

// Check evaluates the policy against the image ref (REPO@sha256:…): nil
// allows it, a *Refusal refuses it, any other error is a failure to check
// (which also stops the release). Rules run in the order require_signature,
// require_sbom, max_severity; the first refusal is returned.
func (g *Gate) Check(ctx context.Context, ref string) error {
	p := g.Policy
	if p.Empty() {
		return nil
	}
	if !strings.Contains(ref, "@sha256:") {
		return fmt.Errorf("policy of environment %q: %s: the policy checks images by digest (REPO@sha256:…)", g.Env, ref)
	}
	refuse := func(rule, finding string) error {
		return &Refusal{Env: g.Env, Image: ref, Rule: rule, Finding: finding}
	}
	fail := func(rule string, err error) error {
		return fmt.Errorf("policy of environment %q: image %s: %s: %w", g.Env, ref, rule, err)
	}
	if p.RequireSignature {
		if g.Verifier == nil {
			return refuse(RuleSignature, "signature verification is not available in this build")
		}
		ok, detail, err := g.Verifier.Verify(ctx, ref, p.Keys)
		if err != nil {
			return fail(RuleSignature, err)
		}
		if !ok {
			msg := "no signature verifies with " + keyNames(p.Keys)
			if detail != "" {
				msg += " (" + detail + ")"
			}
			return refuse(RuleSignature, msg)
		}
	}
	if p.RequireSBOM {
		if g.Evidence == nil {
			return refuse(RuleSBOM, "attestation lookup is not available in this build")
		}
		ok, err := g.Evidence.HasAttestation(ctx, ref, []string{PredicateSPDX, PredicateCycloneDX})
		if err != nil {
			return fail(RuleSBOM, err)
		}
		if !ok {
			return refuse(RuleSBOM, "no SBOM attestation ("+PredicateSPDX+" or "+PredicateCycloneDX+") is attached")
		}
	}
	if p.MaxSeverity != Unknown {
		if g.Scanner == nil {
			return refuse(RuleSeverity, "vulnerability scanning is not available in this build")
		}
		sc, err := g.scanner()
		if err != nil {
			return fail(RuleSeverity, err)
		}
		fs, err := sc.Scan(ctx, ref)
		if err != nil {
			return fail(RuleSeverity, err)
		}
		var over []Finding
		for _, f := range fs {
			if f.Severity > p.MaxSeverity {
				over = append(over, f)
			}
		}
		if len(over) > 0 {
			sort.SliceStable(over, func(i, j int) bool {
				if over[i].Severity != over[j].Severity {
					return over[i].Severity > over[j].Severity
				}
				return over[i].ID < over[j].ID
			})
			msg := over[0].String() + " is above " + p.MaxSeverity.String()
			if len(over) > 1 {
				msg += fmt.Sprintf(" (and %d more above %s)", len(over)-1, p.MaxSeverity)
			}
			return refuse(RuleSeverity, msg)
		}
	}
	return nil
}

func keyNames(keys []Key) string {
	if len(keys) == 0 {
		return "any key (none configured)"
	}
	names := make([]string, len(keys))
	for i, k := range keys {
		names[i] = k.Name
	}
	return strings.Join(names, ", ")
}

// Ports are the three ports a gate checks through, as the commands wire
// them once for every environment.
type Ports struct {
	Verifier SignatureVerifier
	Evidence EvidenceFinder
	Scanner  Scanner
}

// Gate returns the gate of environment env with policy p, or nil when p
// has no rule. The caller closes it (Gate.Close) after its run.
func (ps Ports) Gate(env string, p *Policy) *Gate {
	if p.Empty() {
		return nil
	}
	return &Gate{Env: env, Policy: p, Verifier: ps.Verifier, Evidence: ps.Evidence, Scanner: ps.Scanner}
}
