package sign

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWriteTexts(t *testing.T) {
	var b bytes.Buffer
	WriteVerifyText(&b, &Result{
		Ref:        "r/app@sha256:1",
		Signatures: []Signature{{Format: FormatBundle, Source: "referrer sha256:2", Key: "cosign.pub"}},
		Rejected:   []Rejection{{Source: "tag sha256-1.sig", Reason: "bad signature"}},
	})
	if want := "r/app@sha256:1: 1 valid signature(s)\n  bundle  referrer sha256:2  key cosign.pub\n  refused  tag sha256-1.sig: bad signature\n"; b.String() != want {
		t.Errorf("verify:\n%q\nwant\n%q", b.String(), want)
	}
	b.Reset()
	WriteAttestationsText(&b, []Attestation{{PredicateType: "https://spdx.dev/Document", Format: FormatBundle, Source: "referrer sha256:3", Key: "k.pub"}})
	if want := "verified attestation https://spdx.dev/Document (bundle, referrer sha256:3) with k.pub\n"; b.String() != want {
		t.Errorf("attestations: %q", b.String())
	}
	b.Reset()
	WriteSignText(&b, &SignResult{Ref: "r/app@sha256:1", Format: FormatLegacy, Location: "r/app:sha256-1.sig"})
	if want := "signed r/app@sha256:1 (legacy) -> r/app:sha256-1.sig\n"; b.String() != want {
		t.Errorf("sign: %q", b.String())
	}
	b.Reset()
	WriteKeyPairText(&b, KeyPair{PrivateKey: "c.key", PublicKey: "c.pub"})
	if want := "Private key written to c.key\nPublic key written to c.pub\n"; b.String() != want {
		t.Errorf("key pair: %q", b.String())
	}
}

func TestLoadKeysThroughPrompt(t *testing.T) {
	dir := t.TempDir()
	prefix := filepath.Join(dir, "k")
	kp, pp, err := WriteKeyPair(prefix, []byte("pw"), false)
	if err != nil {
		t.Fatal(err)
	}
	p := Prompt{Getenv: func(k string) (string, bool) { return "pw", k == "BERTH_PASSWORD" }, Terminal: func() bool { return false }}
	if _, err := p.PrivateKey(kp); err != nil {
		t.Fatalf("PrivateKey: %v", err)
	}
	keys, err := LoadPublicKeys([]string{pp, pp})
	if err != nil || len(keys) != 2 {
		t.Fatalf("LoadPublicKeys: %d, %v", len(keys), err)
	}
	missing := filepath.Join(dir, "none.pub")
	if _, err := LoadPublicKeys([]string{pp, missing}); err == nil || !strings.Contains(err.Error(), "none.pub") {
		t.Errorf("missing key: %v", err)
	}
	os.WriteFile(missing, []byte("junk"), 0o644)
	if _, err := LoadPublicKeys([]string{missing}); err == nil {
		t.Error("junk key accepted")
	}
}
