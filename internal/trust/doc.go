// Package trust adapts internal/sign to the ports the rest of berth
// checks trust through: policy.SignatureVerifier (an environment's
// require_signature), policy.Signer (ship --key) and the registry's
// SignatureChecker (berth-registry.yaml requireSignature: {keys:}).
// Adapters only: the cryptography and the registry layouts are
// internal/sign's.
package trust
