// Package sign signs and verifies images and attestations the way cosign
// does, fully offline: keys in cosign's encrypted format, signatures as
// sigstore bundles attached as OCI referrers (or the legacy
// `<repo>:sha256-<hex>.sig` tag), in-toto statements in DSSE envelopes for
// attestations. No transparency log, no Fulcio, no TUF.
package sign

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"os"

	"github.com/secure-systems-lab/go-securesystemslib/encrypted"
)

// PEM block types of cosign's key files.
const (
	pemEncryptedSigstore = "ENCRYPTED SIGSTORE PRIVATE KEY"
	pemEncryptedCosign   = "ENCRYPTED COSIGN PRIVATE KEY" // cosign before 2.x wrote this
	pemPublicKey         = "PUBLIC KEY"
)

// maxKeyFile bounds what is read as a key file.
const maxKeyFile = 1 << 20

// PrivateKey is a signing key loaded from (or generated in) cosign's
// encrypted format.
type PrivateKey struct {
	signer crypto.Signer
	public *PublicKey
}

// PublicKey is a verification key: cosign.pub (PKIX PEM).
type PublicKey struct {
	key  crypto.PublicKey
	der  []byte // PKIX DER
	Path string // file it came from ("" if none)
}

// Public returns the key's public half.
func (k *PrivateKey) Public() *PublicKey { return k.public }

// Hint is the bundle's publicKey.hint for k: base64 of the SHA-256 of the
// PKIX DER, as cosign writes it.
func (p *PublicKey) Hint() string {
	h := sha256.Sum256(p.der)
	return base64.StdEncoding.EncodeToString(h[:])
}

// PEM returns the public key as cosign.pub's content.
func (p *PublicKey) PEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: pemPublicKey, Bytes: p.der})
}

// Crypto returns the Go public key.
func (p *PublicKey) Crypto() crypto.PublicKey { return p.key }

func newPublicKey(pub crypto.PublicKey, path string) (*PublicKey, error) {
	switch pub.(type) {
	case *ecdsa.PublicKey, *rsa.PublicKey, ed25519.PublicKey:
	default:
		return nil, fmt.Errorf("unsupported public key type %T (want ECDSA, RSA or Ed25519)", pub)
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, err
	}
	return &PublicKey{key: pub, der: der, Path: path}, nil
}

func newPrivateKey(s crypto.Signer) (*PrivateKey, error) {
	pub, err := newPublicKey(s.Public(), "")
	if err != nil {
		return nil, err
	}
	return &PrivateKey{signer: s, public: pub}, nil
}

// GenerateKey makes a new ECDSA P-256 key, cosign's default.
func GenerateKey() (*PrivateKey, error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	return newPrivateKey(k)
}

// EncryptedPEM returns k in cosign's encrypted format: PKCS#8 DER sealed
// with nacl/secretbox under a scrypt (N=2^16, r=8, p=1) key from password,
// as JSON in an "ENCRYPTED SIGSTORE PRIVATE KEY" PEM block.
func (k *PrivateKey) EncryptedPEM(password []byte) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(k.signer)
	if err != nil {
		return nil, err
	}
	sealed, err := encrypted.EncryptWithCustomKDFParameters(der, password, encrypted.Standard)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: pemEncryptedSigstore, Bytes: sealed}), nil
}

// ErrWrongPassword is wrapped by ParsePrivateKey when the key does not
// open with the password given.
var ErrWrongPassword = errors.New("wrong password (or the key file is corrupt)")

// ParsePrivateKey decodes an encrypted private key file's content. Only
// cosign's encrypted PEM types are accepted, with the scrypt parameters
// cosign accepts (N 2^15, 2^16 or 2^17; r=8; p=1).
func ParsePrivateKey(data, password []byte) (*PrivateKey, error) {
	block, rest := pem.Decode(data)
	if block == nil {
		return nil, errors.New("no PEM block found (want " + pemEncryptedSigstore + ")")
	}
	if len(bytesTrimSpace(rest)) != 0 {
		return nil, errors.New("trailing data after the PEM block")
	}
	switch block.Type {
	case pemEncryptedSigstore, pemEncryptedCosign:
	default:
		return nil, fmt.Errorf("PEM block is %q, want %q (an encrypted cosign key; import others with cosign import-key-pair)", block.Type, pemEncryptedSigstore)
	}
	if err := checkKDF(block.Bytes); err != nil {
		return nil, err
	}
	der, err := encrypted.Decrypt(block.Bytes, password)
	if err != nil {
		if isDecryptFailure(err) {
			return nil, ErrWrongPassword
		}
		return nil, fmt.Errorf("decrypting: %v", err)
	}
	pk, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("decrypted key is not PKCS#8: %v", err)
	}
	s, ok := pk.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("unsupported private key type %T", pk)
	}
	return newPrivateKey(s)
}

// encryptedKey is the JSON inside the PEM block, as far as it is checked
// here before decryption (for clearer errors than the library's).
type encryptedKey struct {
	KDF struct {
		Name   string `json:"name"`
		Params struct {
			N, R, P int
		} `json:"params"`
		Salt []byte `json:"salt"`
	} `json:"kdf"`
	Cipher struct {
		Name  string `json:"name"`
		Nonce []byte `json:"nonce"`
	} `json:"cipher"`
	Ciphertext []byte `json:"ciphertext"`
}

func checkKDF(body []byte) error {
	var k encryptedKey
	if err := json.Unmarshal(body, &k); err != nil {
		return fmt.Errorf("encrypted key body is not cosign's JSON: %v", err)
	}
	if k.KDF.Name != "scrypt" {
		return fmt.Errorf("kdf.name %q unsupported (want scrypt)", k.KDF.Name)
	}
	p := k.KDF.Params
	if (p.N != 1<<15 && p.N != 1<<16 && p.N != 1<<17) || p.R != 8 || p.P != 1 {
		return fmt.Errorf("unsupported scrypt parameters N=%d r=%d p=%d (want N 32768, 65536 or 131072, r=8, p=1)", p.N, p.R, p.P)
	}
	if k.Cipher.Name != "nacl/secretbox" {
		return fmt.Errorf("cipher.name %q unsupported (want nacl/secretbox)", k.Cipher.Name)
	}
	if len(k.Cipher.Nonce) != 24 {
		return fmt.Errorf("cipher.nonce is %d bytes, want 24", len(k.Cipher.Nonce))
	}
	if len(k.Ciphertext) == 0 {
		return errors.New("ciphertext is empty")
	}
	return nil
}

func isDecryptFailure(err error) bool {
	return err != nil && err.Error() == "encrypted: decryption failed"
}

// ParsePublicKey decodes a PKIX "PUBLIC KEY" PEM (cosign.pub).
func ParsePublicKey(data []byte) (*PublicKey, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, errors.New("no PEM block found (want PUBLIC KEY)")
	}
	if block.Type != pemPublicKey {
		return nil, fmt.Errorf("PEM block is %q, want %q", block.Type, pemPublicKey)
	}
	pub, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("public key: %v", err)
	}
	return newPublicKey(pub, "")
}

// LoadPrivateKey reads and decrypts the cosign key file at path. Errors
// name the file.
func LoadPrivateKey(path string, password []byte) (*PrivateKey, error) {
	data, err := readKeyFile(path)
	if err != nil {
		return nil, err
	}
	k, err := ParsePrivateKey(data, password)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	k.public.Path = path
	return k, nil
}

// LoadPublicKey reads cosign.pub (PKIX PEM) at path. Errors name the file.
func LoadPublicKey(path string) (*PublicKey, error) {
	data, err := readKeyFile(path)
	if err != nil {
		return nil, err
	}
	p, err := ParsePublicKey(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	p.Path = path
	return p, nil
}

func readKeyFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file", path)
	}
	if st.Size() > maxKeyFile {
		return nil, fmt.Errorf("%s: %d bytes is too large for a key file", path, st.Size())
	}
	data := make([]byte, st.Size())
	if _, err := f.ReadAt(data, 0); err != nil && st.Size() > 0 {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	return data, nil
}

func bytesTrimSpace(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\n' || b[0] == '\r' || b[0] == '\t') {
		b = b[1:]
	}
	return b
}
