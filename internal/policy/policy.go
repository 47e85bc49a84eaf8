// Package policy is the admission policy of a berth.yaml environment
// (environments.NAME.policy:): which evidence an image must carry before
// deploy, ship or promote may put it there — a signature that verifies
// with one of the environment's keys, an SBOM attestation, no
// vulnerability above a severity (after VEX). It evaluates an image digest
// through three consumer-side ports (SignatureVerifier, EvidenceFinder,
// Scanner); the signing, SBOM and scanning packages implement them and the
// commands wire them in. It imports nothing of berth.
package policy

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"strings"
)

// Severity orders vulnerability severities; Unknown (zero) is below Low.
type Severity int

const (
	Unknown Severity = iota
	Low
	Medium
	High
	Critical
)

var severityNames = []string{"unknown", "low", "medium", "high", "critical"}

func (s Severity) String() string {
	if s < 0 || int(s) >= len(severityNames) {
		return "unknown"
	}
	return severityNames[s]
}

// ParseSeverity reads a max_severity value: critical, high, medium or low
// (case-insensitive, as scanners print them).
func ParseSeverity(s string) (Severity, error) {
	for i, n := range severityNames {
		if i > 0 && strings.EqualFold(s, n) {
			return Severity(i), nil
		}
	}
	return Unknown, fmt.Errorf("invalid severity %q: expected critical, high, medium or low", s)
}

// Key is a public key file of require_signature.keys.
type Key struct {
	Name string // as written in berth.yaml, for messages
	Path string // absolute host path
}

// Policy is an environment's policy:. The zero value allows everything.
type Policy struct {
	// RequireSignature: a signature of the image's digest must verify with
	// one of Keys.
	RequireSignature bool
	Keys             []Key
	// RequireSBOM: an SBOM attestation (SPDX or CycloneDX predicate) must be
	// attached to the image.
	RequireSBOM bool
	// MaxSeverity is the highest vulnerability severity allowed (findings
	// above it refuse the image); Unknown = no scan.
	MaxSeverity Severity
	// VEX are files or directories of OpenVEX documents the scanner applies
	// (absolute host paths).
	VEX []string
}

// Empty reports whether p has no rule.
func (p *Policy) Empty() bool {
	return p == nil || !p.RequireSignature && !p.RequireSBOM && p.MaxSeverity == Unknown
}

// Rules lists the rule names p sets, in evaluation order.
func (p *Policy) Rules() []string {
	if p == nil {
		return nil
	}
	var r []string
	if p.RequireSignature {
		r = append(r, RuleSignature)
	}
	if p.RequireSBOM {
		r = append(r, RuleSBOM)
	}
	if p.MaxSeverity != Unknown {
		r = append(r, RuleSeverity)
	}
	return r
}

// Rule names, as berth.yaml spells them.
const (
	RuleSignature = "require_signature"
	RuleSBOM      = "require_sbom"
	RuleSeverity  = "max_severity"
)

// maxKeySize bounds a key file read: a PEM public key is well under 4 KiB
// (RSA 4096 included).
const maxKeySize = 64 << 10

// CheckKey reads a public key file and checks it is a PEM "PUBLIC KEY"
// (PKIX, as cosign.pub is) of a type internal/sign verifies with: ECDSA,
// RSA or Ed25519 (sign.ParsePublicKey's types; policy imports nothing of
// berth, and trust's TestCheckKeyAgreesWithSign keeps the two in step).
// name is what the message shows.
func CheckKey(name, path string) error {
	st, err := os.Stat(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("key %s: no such file", name)
		}
		return fmt.Errorf("key %s: %v", name, err)
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("key %s: not a regular file", name)
	}
	if st.Size() > maxKeySize {
		return fmt.Errorf("key %s: %d bytes is too large for a PEM public key", name, st.Size())
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("key %s: %v", name, err)
	}
	block, _ := pem.Decode(data)
	if block == nil {
		return fmt.Errorf("key %s: not a PEM file (expected a \"PUBLIC KEY\" block, as cosign.pub)", name)
	}
	if block.Type != "PUBLIC KEY" {
		hint := ""
		if strings.Contains(block.Type, "PRIVATE") {
			hint = "; this is a private key: name the public one (cosign.pub) here"
		}
		return fmt.Errorf("key %s: PEM block %q, expected \"PUBLIC KEY\"%s", name, block.Type, hint)
	}
	pub, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return fmt.Errorf("key %s: not a valid public key: %v", name, err)
	}
	switch pub.(type) {
	case *ecdsa.PublicKey, *rsa.PublicKey, ed25519.PublicKey:
		return nil
	}
	return fmt.Errorf("key %s: not a valid public key: unsupported public key type %T (want ECDSA, RSA or Ed25519)", name, pub)
}

// CheckKeys checks every key of p (see CheckKey), so a deploy fails on a
// missing or wrong key file before anything happens.
func (p *Policy) CheckKeys() error {
	if p == nil {
		return nil
	}
	for _, k := range p.Keys {
		if err := CheckKey(k.Name, k.Path); err != nil {
			return err
		}
	}
	return nil
}
