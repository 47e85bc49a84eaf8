package trust_test

import (
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"testing"

	"github.com/berth-dev/berth/internal/policy"
	"github.com/berth-dev/berth/internal/sbom"
	"github.com/berth-dev/berth/internal/sign"
)

// TestPredicateTypesAgree: internal/sign holds berth's predicate-type URIs;
// the packages that may not import it (policy and sbom import nothing of
// sign, by the import-direction test) name the same ones.
func TestPredicateTypesAgree(t *testing.T) {
	for _, c := range [][2]string{
		{policy.PredicateSPDX, sign.PredicateSPDX},
		{policy.PredicateCycloneDX, sign.PredicateCycloneDX},
		{sbom.SPDXPredicateType, sign.PredicateSPDX},
		{sbom.CycloneDXPredicateType, sign.PredicateCycloneDX},
		{sbom.ProvenancePredicateType, sign.PredicateSLSA1},
	} {
		if c[0] != c[1] {
			t.Errorf("%q differs from sign's %q", c[0], c[1])
		}
	}
}

// TestCheckKeyAgreesWithSign: berth.yaml's key check (policy.CheckKey)
// accepts exactly the PKIX key types internal/sign verifies with.
func TestCheckKeyAgreesWithSign(t *testing.T) {
	dir := t.TempDir()
	ec, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	rs, _ := rsa.GenerateKey(rand.Reader, 2048)
	ed, _, _ := ed25519.GenerateKey(rand.Reader)
	ecdh, _ := ec.PublicKey.ECDH()
	for name, pub := range map[string]any{"ecdsa": &ec.PublicKey, "rsa": &rs.PublicKey, "ed25519": ed, "x25519": mustX25519(t), "ecdh-p384": ecdh} {
		der, err := x509.MarshalPKIXPublicKey(pub)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		path := filepath.Join(dir, name+".pub")
		if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o644); err != nil {
			t.Fatal(err)
		}
		_, serr := sign.LoadPublicKey(path)
		perr := policy.CheckKey(name, path)
		if (serr == nil) != (perr == nil) {
			t.Errorf("%s: sign.LoadPublicKey: %v; policy.CheckKey: %v", name, serr, perr)
		}
	}
}

func mustX25519(t *testing.T) any {
	t.Helper()
	k, err := ecdhX25519()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func ecdhX25519() (any, error) {
	k, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	return k.PublicKey(), nil
}
