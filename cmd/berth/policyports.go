package main

import (
	"errors"
	"os"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/berth-dev/berth/internal/policy"
	"github.com/berth-dev/berth/internal/release"
)

// policyPorts are the ports environments' policy: is checked through, for
// deploy, ship and promote. The evidence finder reads the registry's
// referrers; the scanner is berth scan's (internal/trust over
// internal/vuln: the default vulnerability database, which max_severity
// needs — none refuses). The signature verifier (internal/sign) is wired
// here when it is in the build — until then a policy that sets
// require_signature refuses every image (fail closed), saying the check is
// not available.
func policyPorts(insecure bool) policy.Ports {
	return policy.Ports{
		Evidence: policy.RegistryEvidence{Options: []remote.Option{remote.WithAuthFromKeychain(authn.DefaultKeychain)}, Insecure: insecure},
		Scanner:  policyScanner(insecure),
	}
}

// signingKeyEnv names the private key ship signs with when --key is not
// given.
const signingKeyEnv = "BERTH_SIGNING_KEY"

// shipPolicyPorts adds ship's signer: with --key (or $BERTH_SIGNING_KEY),
// ship signs every image it pushes, by digest, before the environment's
// policy is checked, when that policy requires signatures.
func shipPolicyPorts(key string) (release.PolicyPorts, error) {
	if key == "" {
		key = os.Getenv(signingKeyEnv)
	}
	ports := release.PolicyPorts{Ports: policyPorts(false)}
	if key != "" {
		// The signer (internal/sign: load the cosign key with
		// BERTH_PASSWORD/COSIGN_PASSWORD, sign REPO@DIGEST) is wired here.
		return ports, errors.New("--key: signing is not available in this build")
	}
	return ports, nil
}
