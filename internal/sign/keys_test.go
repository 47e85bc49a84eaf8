package sign

import (
	"encoding/json"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestKeyRoundTrip(t *testing.T) {
	k, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	for _, pw := range []string{"", "s3cret"} {
		enc, err := k.EncryptedPEM([]byte(pw))
		if err != nil {
			t.Fatal(err)
		}
		block, _ := pem.Decode(enc)
		if block == nil || block.Type != "ENCRYPTED SIGSTORE PRIVATE KEY" {
			t.Fatalf("PEM type %v", block)
		}
		var body encryptedKey
		if err := json.Unmarshal(block.Bytes, &body); err != nil {
			t.Fatal(err)
		}
		if p := body.KDF.Params; p.N != 65536 || p.R != 8 || p.P != 1 || len(body.KDF.Salt) != 32 || body.Cipher.Name != "nacl/secretbox" {
			t.Fatalf("kdf/cipher %+v %+v", body.KDF, body.Cipher)
		}
		back, err := ParsePrivateKey(enc, []byte(pw))
		if err != nil {
			t.Fatalf("password %q: %v", pw, err)
		}
		if back.Public().Hint() != k.Public().Hint() {
			t.Fatal("round trip changed the key")
		}
		if _, err := ParsePrivateKey(enc, []byte(pw+"x")); !errors.Is(err, ErrWrongPassword) {
			t.Fatalf("wrong password: %v", err)
		}
	}
}

func TestKeyAcceptsLegacyPEMAndRefusesOtherScrypt(t *testing.T) {
	k, _ := GenerateKey()
	enc, _ := k.EncryptedPEM(nil)
	block, _ := pem.Decode(enc)
	legacy := pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED COSIGN PRIVATE KEY", Bytes: block.Bytes})
	if _, err := ParsePrivateKey(legacy, nil); err != nil {
		t.Fatalf("legacy PEM type: %v", err)
	}
	var body map[string]any
	_ = json.Unmarshal(block.Bytes, &body)
	body["kdf"].(map[string]any)["params"].(map[string]any)["N"] = 1024
	weak, _ := json.Marshal(body)
	_, err := ParsePrivateKey(pem.EncodeToMemory(&pem.Block{Type: block.Type, Bytes: weak}), nil)
	if err == nil || !strings.Contains(err.Error(), "unsupported scrypt parameters") {
		t.Fatalf("N=1024: %v", err)
	}
	plain := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: []byte{1}})
	if _, err := ParsePrivateKey(plain, nil); err == nil {
		t.Fatal("unencrypted key accepted")
	}
}

// testdata/cosign.key and cosign.pub were written by the real cosign
// v2.6.5 (`COSIGN_PASSWORD=berth-test cosign generate-key-pair`).
func TestLoadsKeyMadeByCosign(t *testing.T) {
	k, err := LoadPrivateKey("testdata/cosign.key", []byte("berth-test"))
	if err != nil {
		t.Fatal(err)
	}
	pub, err := LoadPublicKey("testdata/cosign.pub")
	if err != nil {
		t.Fatal(err)
	}
	if pub.Hint() != k.Public().Hint() {
		t.Fatal("cosign.pub is not cosign.key's public half")
	}
	sig, _ := k.signMessage([]byte("x"))
	if err := pub.verifyMessage([]byte("x"), sig); err != nil {
		t.Fatal(err)
	}
	_, err = LoadPrivateKey("testdata/cosign.key", []byte("wrong"))
	if !errors.Is(err, ErrWrongPassword) || !strings.Contains(err.Error(), "testdata/cosign.key") {
		t.Fatalf("wrong password error %v does not name the file", err)
	}
}

func TestWriteKeyPair(t *testing.T) {
	dir := t.TempDir()
	prefix := filepath.Join(dir, "cosign")
	kp, pp, err := WriteKeyPair(prefix, []byte("pw"), false)
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(kp)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("%s: %v %v", kp, st.Mode(), err)
	}
	k, err := LoadPrivateKey(kp, []byte("pw"))
	if err != nil {
		t.Fatal(err)
	}
	pub, err := LoadPublicKey(pp)
	if err != nil || pub.Hint() != k.Public().Hint() {
		t.Fatalf("pub: %v", err)
	}
	before, _ := os.ReadFile(kp)
	if _, _, err := WriteKeyPair(prefix, []byte("pw"), false); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("overwrite without force: %v", err)
	}
	if after, _ := os.ReadFile(kp); string(after) != string(before) {
		t.Fatal("refused overwrite still changed the key")
	}
	if _, _, err := WriteKeyPair(prefix, []byte("pw"), true); err != nil {
		t.Fatal(err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 2 {
		t.Fatalf("left %d files (temp files?)", len(entries))
	}
}

func TestCorruptKeyNamesFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "bad.key")
	os.WriteFile(p, []byte("-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\nbm90IGpzb24=\n-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n"), 0o600)
	_, err := LoadPrivateKey(p, nil)
	if err == nil || !strings.Contains(err.Error(), p) {
		t.Fatalf("corrupt key: %v", err)
	}
	os.WriteFile(p, []byte("garbage"), 0o600)
	if _, err := LoadPublicKey(p); err == nil || !strings.Contains(err.Error(), p) {
		t.Fatalf("corrupt pub: %v", err)
	}
}

func TestPasswordSources(t *testing.T) {
	env := map[string]string{}
	reads := [][]byte{[]byte("a"), []byte("b")}
	p := Prompt{
		Getenv:   func(k string) (string, bool) { v, ok := env[k]; return v, ok },
		Terminal: func() bool { return true },
		Read:     func() ([]byte, error) { r := reads[0]; reads = reads[1:]; return r, nil },
		Out:      &strings.Builder{},
	}
	env["COSIGN_PASSWORD"] = "c"
	env["BERTH_PASSWORD"] = ""
	if pw, err := p.Password("k", true); err != nil || string(pw) != "" {
		t.Fatalf("BERTH_PASSWORD empty first: %q %v", pw, err)
	}
	delete(env, "BERTH_PASSWORD")
	if pw, _ := p.Password("k", true); string(pw) != "c" {
		t.Fatalf("COSIGN_PASSWORD: %q", pw)
	}
	delete(env, "COSIGN_PASSWORD")
	if _, err := p.Password("k", true); err == nil || !strings.Contains(err.Error(), "do not match") {
		t.Fatalf("mismatch: %v", err)
	}
	p.Terminal = func() bool { return false }
	if _, err := p.Password("k", false); err == nil || !strings.Contains(err.Error(), "BERTH_PASSWORD") {
		t.Fatalf("no terminal: %v", err)
	}
}
