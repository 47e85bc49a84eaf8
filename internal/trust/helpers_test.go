package trust_test

import (
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/berth-dev/berth/internal/sign"
)

// testKey is a generated key pair with its files: key.key (encrypted
// with password "pw") and key.pub.
type testKey struct {
	priv         *sign.PrivateKey
	keyPath, pub string
}

func newKey(t *testing.T, dir, name string) testKey {
	t.Helper()
	k, err := sign.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	enc, err := k.EncryptedPEM([]byte("pw"))
	if err != nil {
		t.Fatal(err)
	}
	tk := testKey{priv: k, keyPath: filepath.Join(dir, name+".key"), pub: filepath.Join(dir, name+".pub")}
	if err := os.WriteFile(tk.keyPath, enc, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(tk.pub, k.Public().PEM(), 0o644); err != nil {
		t.Fatal(err)
	}
	return tk
}

// memRegistry is go-containerregistry's in-memory registry on loopback.
func memRegistry(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// pushRandom pushes a random image to ref and returns it by digest.
func pushRandom(t *testing.T, ref string) string {
	t.Helper()
	img, err := random.Image(64, 1)
	if err != nil {
		t.Fatal(err)
	}
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(r, img); err != nil {
		t.Fatal(err)
	}
	d, _ := img.Digest()
	return r.Context().Digest(d.String()).String()
}

func envPrompt(pw string) sign.Prompt {
	return sign.Prompt{
		Getenv:   func(k string) (string, bool) { return pw, k == "BERTH_PASSWORD" },
		Terminal: func() bool { return false },
	}
}
