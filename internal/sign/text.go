package sign

import (
	"fmt"
	"io"
)

// OfflineNote is said with every verification: what was not checked.
const OfflineNote = "verified offline with the public key only: no transparency log, certificate or timestamp checked"

// WriteVerifyText prints the signatures Verify accepted and refused.
func WriteVerifyText(w io.Writer, res *Result) {
	fmt.Fprintf(w, "%s: %d valid signature(s)\n", res.Ref, len(res.Signatures))
	for _, s := range res.Signatures {
		fmt.Fprintf(w, "  %s  %s  key %s\n", s.Format, s.Source, s.Key)
	}
	for _, r := range res.Rejected {
		fmt.Fprintf(w, "  refused  %s: %s\n", r.Source, r.Reason)
	}
}

// WriteAttestationsText prints the attestations VerifyAttestations
// accepted, one a line.
func WriteAttestationsText(w io.Writer, atts []Attestation) {
	for _, a := range atts {
		fmt.Fprintf(w, "verified attestation %s (%s, %s) with %s\n", a.PredicateType, a.Format, a.Source, a.Key)
	}
}

// WriteSignText prints where Sign put the signature.
func WriteSignText(w io.Writer, res *SignResult) {
	fmt.Fprintf(w, "signed %s (%s) -> %s\n", res.Ref, res.Format, res.Location)
}

// KeyPair is the files WriteKeyPair wrote.
type KeyPair struct {
	PrivateKey string `json:"privateKey"`
	PublicKey  string `json:"publicKey"`
}

// WriteKeyPairText prints the files of a new key pair as cosign does.
func WriteKeyPairText(w io.Writer, kp KeyPair) {
	fmt.Fprintf(w, "Private key written to %s\nPublic key written to %s\n", kp.PrivateKey, kp.PublicKey)
}

// LoadPublicKeys reads the public key files at paths.
func LoadPublicKeys(paths []string) ([]*PublicKey, error) {
	var keys []*PublicKey
	for _, p := range paths {
		k, err := LoadPublicKey(p)
		if err != nil {
			return nil, err
		}
		keys = append(keys, k)
	}
	return keys, nil
}
