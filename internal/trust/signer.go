package trust

import (
	"context"

	"github.com/berth-dev/berth/internal/policy"
	"github.com/berth-dev/berth/internal/sign"
)

// Signer is the policy.Signer over internal/sign: one private key, loaded
// (and its password asked) once per command, signing each image by digest
// as a sigstore bundle referrer (cosign v3's default format).
type Signer struct {
	Key     *sign.PrivateKey
	Path    string // the key file, for messages
	Options sign.Options
}

// NewSigner loads the cosign private key at path, with the password from
// $BERTH_PASSWORD, $COSIGN_PASSWORD or the terminal (prompt; the zero
// Prompt uses stdin/stderr). Errors name the file.
func NewSigner(path string, prompt sign.Prompt, o sign.Options) (*Signer, error) {
	k, err := prompt.PrivateKey(path)
	if err != nil {
		return nil, err
	}
	return &Signer{Key: k, Path: path, Options: o}, nil
}

// Sign implements policy.Signer: ref is REPO@sha256:….
func (s *Signer) Sign(ctx context.Context, ref string) error {
	_, err := sign.Sign(ctx, ref, s.Key, sign.SignOptions{Options: s.Options, Format: sign.FormatBundle})
	return err
}

// SigningKeyEnv names the private key ship signs with when --key is not
// given.
const SigningKeyEnv = "BERTH_SIGNING_KEY"

// Signing is how a command signs what it pushes: with a key (a cosign
// private key, loaded once, here: its password from $BERTH_PASSWORD,
// $COSIGN_PASSWORD or prompt), a Signer for the images (by digest) and an
// Attester that signs their SBOM and provenance attestations; without one
// (key ""), no Signer (a nil interface) and an unsigned Attester.
func Signing(key string, prompt sign.Prompt, o sign.Options) (policy.Signer, *Attester, error) {
	if key == "" {
		return nil, &Attester{Options: o}, nil
	}
	s, err := NewSigner(key, prompt, o)
	if err != nil {
		return nil, nil, err
	}
	return s, &Attester{Key: s.Key, Options: o}, nil
}
