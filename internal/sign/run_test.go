package sign

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func envPassword(pw string) Prompt {
	return Prompt{Getenv: func(k string) (string, bool) { return pw, k == "BERTH_PASSWORD" }, Terminal: func() bool { return false }}
}

// TestGenerateKeyPair: existing files are refused before a password is
// asked, unless force; the pair is written and loads.
func TestGenerateKeyPair(t *testing.T) {
	prefix := filepath.Join(t.TempDir(), "k")
	kp, err := GenerateKeyPair(prefix, envPassword("pw"), false)
	if err != nil || kp.PrivateKey != prefix+".key" || kp.PublicKey != prefix+".pub" {
		t.Fatalf("GenerateKeyPair = %+v, %v", kp, err)
	}
	asked := false
	noPw := Prompt{Getenv: func(string) (string, bool) { asked = true; return "", false }, Terminal: func() bool { return false }}
	if _, err := GenerateKeyPair(prefix, noPw, false); err == nil || !strings.Contains(err.Error(), "already exists") || asked {
		t.Errorf("existing pair: %v (password asked: %v)", err, asked)
	}
	if _, err := GenerateKeyPair(prefix, envPassword("pw2"), true); err != nil {
		t.Fatalf("--force: %v", err)
	}
	if _, err := envPassword("pw2").PrivateKey(prefix + ".key"); err != nil {
		t.Errorf("overwritten key: %v", err)
	}
}

// TestRunSignVerify: berth sign's and verify's checks name the flag; a
// signed image verifies, in text (the offline note on the log) and JSON;
// a missing required annotation fails with the refusals in the JSON.
func TestRunSignVerify(t *testing.T) {
	ctx := context.Background()
	host := newRegistry(t, true)
	ref := host + "/app:1"
	pushImage(t, ref)
	prefix := filepath.Join(t.TempDir(), "k")
	if _, _, err := WriteKeyPair(prefix, []byte("pw"), false); err != nil {
		t.Fatal(err)
	}
	sr := SignRequest{Image: ref, KeyPath: prefix + ".key", Prompt: envPassword("pw"), Format: "bundle", Annotations: []string{"env=prod"}}
	for _, tc := range []struct {
		edit func(*SignRequest)
		want string
	}{
		{func(r *SignRequest) { r.KeyPath = "" }, "--key is required"},
		{func(r *SignRequest) { r.Format = "pgp" }, "--format"},
		{func(r *SignRequest) { r.Annotations = []string{"novalue"} }, "-a"},
	} {
		r := sr
		tc.edit(&r)
		if err := RunSign(ctx, r, &bytes.Buffer{}, false); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("RunSign: %v, want %q", err, tc.want)
		}
	}
	var out bytes.Buffer
	if err := RunSign(ctx, sr, &out, false); err != nil || !strings.HasPrefix(out.String(), "signed "+host+"/app@sha256:") {
		t.Fatalf("RunSign: %v %q", err, out.String())
	}

	vr := VerifyRequest{Image: ref, KeyPaths: []string{prefix + ".pub"}, Annotations: []string{"env=prod"}}
	if err := RunVerify(ctx, VerifyRequest{Image: ref}, &out, &out, false); err == nil || !strings.Contains(err.Error(), "--key is required") {
		t.Errorf("no key: %v", err)
	}
	var log bytes.Buffer
	out.Reset()
	if err := RunVerify(ctx, vr, &out, &log, false); err != nil || !strings.Contains(out.String(), "1 valid signature(s)") || log.String() != OfflineNote+"\n" {
		t.Fatalf("RunVerify: %v %q %q", err, out.String(), log.String())
	}
	out.Reset()
	vr.Annotations = []string{"env=staging"}
	err := RunVerify(ctx, vr, &out, &log, true)
	var res Result
	if jerr := json.Unmarshal(out.Bytes(), &res); err == nil || jerr != nil || len(res.Signatures) != 0 || len(res.Rejected) != 1 {
		t.Fatalf("missing annotation: %v; JSON %q (%v)", err, out.String(), jerr)
	}
	out.Reset()
	vr.Annotations, vr.Attestations = nil, true
	if err := RunVerify(ctx, vr, &out, &log, true); err == nil {
		t.Errorf("attestations of an image without any verified: %q", out.String())
	}
	os.Remove(prefix + ".pub")
	if err := RunVerify(ctx, vr, &out, &log, false); err == nil || !strings.Contains(err.Error(), "k.pub") {
		t.Errorf("missing key file: %v", err)
	}
}
