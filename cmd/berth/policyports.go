package main

import (
	"os"

	"github.com/berth-dev/berth/internal/policy"
	"github.com/berth-dev/berth/internal/release"
	"github.com/berth-dev/berth/internal/sign"
	"github.com/berth-dev/berth/internal/trust"
)

// policyPorts are the ports environments' policy: is checked through
// (trust.Cache.PolicyPorts), for deploy, ship and promote.
func policyPorts(insecure bool) policy.Ports { return trustCache().PolicyPorts(insecure) }

// signingKeyEnv names the private key ship signs with when --key is not
// given.
const signingKeyEnv = "BERTH_SIGNING_KEY"

// shipSigning wires ship's key into p: with --key (or $BERTH_SIGNING_KEY),
// ship signs every image it pushes, by digest, before the environment's
// policy is checked, and signs the SBOM and provenance attestations it
// attaches. The key is loaded (its password read from $BERTH_PASSWORD,
// $COSIGN_PASSWORD or the terminal) once, here.
func shipSigning(p *release.Pipeline, key string) error {
	if key == "" {
		key = os.Getenv(signingKeyEnv)
	}
	if key == "" {
		return nil
	}
	s, err := trust.NewSigner(key, sign.Prompt{}, sign.Options{})
	if err != nil {
		return err
	}
	p.Policy.Signer = s
	p.Attester = &trust.Attester{Key: s.Key}
	return nil
}
