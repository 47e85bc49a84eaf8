// Package trust adapts berth's trust packages — signatures (internal/sign),
// SBOMs (internal/sbom) and vulnerability scanning (internal/vuln) — to the
// ports the rest of berth checks trust through: policy.SignatureVerifier
// (an environment's require_signature), policy.Signer (ship --key),
// policy.Scanner (max_severity, the same scan as berth scan), the release
// pipeline's Attester, and the registry's SignatureChecker
// (berth-registry.yaml requireSignature: {keys:}). Adapters only: the
// cryptography and the registry layouts are internal/sign's, the matching
// internal/vuln's.
package trust
