package sign

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"errors"
)

// signMessage signs msg as cosign does with its keys: ECDSA (ASN.1) and
// RSA PKCS#1 v1.5 over SHA-256 of msg, Ed25519 over msg itself.
func (k *PrivateKey) signMessage(msg []byte) ([]byte, error) {
	if _, ok := k.signer.(ed25519.PrivateKey); ok {
		return k.signer.Sign(rand.Reader, msg, crypto.Hash(0))
	}
	h := sha256.Sum256(msg)
	return k.signer.Sign(rand.Reader, h[:], crypto.SHA256)
}

// errBadSignature is what a signature that does not verify under a key
// reports.
var errBadSignature = errors.New("signature does not match")

// verifyMessage checks sig over msg with p (the counterpart of signMessage).
func (p *PublicKey) verifyMessage(msg, sig []byte) error {
	switch k := p.key.(type) {
	case ed25519.PublicKey:
		if ed25519.Verify(k, msg, sig) {
			return nil
		}
	case *ecdsa.PublicKey:
		h := sha256.Sum256(msg)
		if ecdsa.VerifyASN1(k, h[:], sig) {
			return nil
		}
	case *rsa.PublicKey:
		h := sha256.Sum256(msg)
		if rsa.VerifyPKCS1v15(k, crypto.SHA256, h[:], sig) == nil {
			return nil
		}
	}
	return errBadSignature
}

// dsseSigner adapts a PrivateKey to go-securesystemslib's dsse.Signer.
// The key id stays empty, as cosign leaves it.
type dsseSigner struct{ k *PrivateKey }

func (s dsseSigner) Sign(_ context.Context, data []byte) ([]byte, error) {
	return s.k.signMessage(data)
}
func (s dsseSigner) KeyID() (string, error) { return "", nil }

// dsseVerifier adapts a PublicKey to dsse.Verifier.
type dsseVerifier struct{ p *PublicKey }

func (v dsseVerifier) Verify(_ context.Context, data, sig []byte) error {
	return v.p.verifyMessage(data, sig)
}
func (v dsseVerifier) KeyID() (string, error)   { return "", nil }
func (v dsseVerifier) Public() crypto.PublicKey { return v.p.key }
