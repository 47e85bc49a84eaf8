package policy

import (
	"crypto/dsa"
	"crypto/rand"
	"crypto/x509"
	"encoding/asn1"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// dsaPublicKeyPEM is a PKIX "PUBLIC KEY" PEM of a fresh DSA key: valid
// PKIX, which x509 parses, but no key type cosign (or internal/sign) signs
// or verifies with.
func dsaPublicKeyPEM(t *testing.T) []byte {
	t.Helper()
	var k dsa.PrivateKey
	if err := dsa.GenerateParameters(&k.Parameters, rand.Reader, dsa.L1024N160); err != nil {
		t.Fatal(err)
	}
	if err := dsa.GenerateKey(&k, rand.Reader); err != nil {
		t.Fatal(err)
	}
	// x509.MarshalPKIXPublicKey does not write DSA: SubjectPublicKeyInfo by
	// hand (RFC 3279 2.3.2).
	params, err := asn1.Marshal(struct{ P, Q, G *big.Int }{k.P, k.Q, k.G})
	if err != nil {
		t.Fatal(err)
	}
	y, err := asn1.Marshal(k.Y)
	if err != nil {
		t.Fatal(err)
	}
	type algorithm struct {
		OID    asn1.ObjectIdentifier
		Params asn1.RawValue
	}
	der, err := asn1.Marshal(struct {
		Algorithm algorithm
		Key       asn1.BitString
	}{algorithm{asn1.ObjectIdentifier{1, 2, 840, 10040, 4, 1}, asn1.RawValue{FullBytes: params}}, asn1.BitString{Bytes: y, BitLength: 8 * len(y)}})
	if err != nil {
		t.Fatal(err)
	}
	if pub, err := x509.ParsePKIXPublicKey(der); err != nil {
		t.Fatalf("the DSA key is not valid PKIX: %v", err)
	} else if _, ok := pub.(*dsa.PublicKey); !ok {
		t.Fatalf("parsed as %T", pub)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

// TestCheckKeyRefusesKeyTypesSignRefuses: berth.yaml's key check and
// internal/sign agree on key types — a DSA public key (PKIX, parsable) is
// refused when the file is checked, naming it and the type, not later when
// a signature is verified.
func TestCheckKeyRefusesKeyTypesSignRefuses(t *testing.T) {
	path := filepath.Join(t.TempDir(), "dsa.pub")
	if err := os.WriteFile(path, dsaPublicKeyPEM(t), 0o644); err != nil {
		t.Fatal(err)
	}
	err := CheckKey("keys/dsa.pub", path)
	if err == nil || !strings.HasPrefix(err.Error(), "key keys/dsa.pub: ") || !strings.Contains(err.Error(), "DSA") {
		t.Fatalf("CheckKey(DSA key) = %v, want an error naming keys/dsa.pub and the DSA key type", err)
	}
	t.Log(err)
}
