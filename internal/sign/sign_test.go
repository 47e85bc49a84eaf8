package sign

import (
	"context"
	"encoding/base64"
	"errors"
	"io"
	"log"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// newRegistry serves an in-process registry on 127.0.0.1 (plain HTTP, as
// berth allows for loopback) and returns its host:port.
func newRegistry(t *testing.T, referrersAPI bool) string {
	t.Helper()
	var opts []registry.Option
	opts = append(opts, registry.Logger(log.New(io.Discard, "", 0)))
	if referrersAPI {
		opts = append(opts, registry.WithReferrersSupport(true))
	}
	srv := httptest.NewServer(registry.New(opts...))
	t.Cleanup(srv.Close)
	u, _ := url.Parse(srv.URL)
	return u.Host
}

// pushImage pushes a small random image as host/repo:tag, returns its digest.
func pushImage(t *testing.T, ref string) string {
	t.Helper()
	img, err := random.Image(256, 1)
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
	return d.String()
}

func mustKey(t *testing.T) *PrivateKey {
	t.Helper()
	k, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	k.public.Path = "key-" + k.public.Hint()[:6]
	return k
}

func notVerified(t *testing.T, err error, reason string) {
	t.Helper()
	var nv *NotVerifiedError
	if !errors.As(err, &nv) {
		t.Fatalf("want NotVerifiedError, got %v", err)
	}
	if !strings.Contains(err.Error(), reason) {
		t.Fatalf("error %q does not say %q", err, reason)
	}
}

func TestSignVerifyBothFormats(t *testing.T) {
	ctx := context.Background()
	for _, referrersAPI := range []bool{true, false} {
		host := newRegistry(t, referrersAPI)
		for _, f := range []Format{FormatBundle, FormatLegacy} {
			ref := host + "/app:" + string(f)
			dig := pushImage(t, ref)
			k := mustKey(t)
			res, err := Sign(ctx, ref, k, SignOptions{Format: f})
			if err != nil {
				t.Fatalf("api=%v %s: sign: %v", referrersAPI, f, err)
			}
			if res.Digest != dig || !strings.HasSuffix(res.Ref, "@"+dig) {
				t.Fatalf("signed %+v, want %s", res, dig)
			}
			got, err := Verify(ctx, ref, []*PublicKey{k.Public()}, VerifyOptions{})
			if err != nil {
				t.Fatalf("api=%v %s: verify: %v", referrersAPI, f, err)
			}
			if len(got.Signatures) != 1 || got.Signatures[0].Format != f || !got.Offline {
				t.Fatalf("api=%v %s: %+v", referrersAPI, f, got)
			}
			// Wrong key.
			_, err = Verify(ctx, ref, []*PublicKey{mustKey(t).Public()}, VerifyOptions{})
			notVerified(t, err, "signature does not match")
		}
	}
}

// Without a referrers API the bundle lands in cosign's fallback: an index
// tagged sha256-<hex> listing the referrer.
func TestBundleFallsBackToTagSchema(t *testing.T) {
	ctx := context.Background()
	host := newRegistry(t, false)
	ref := host + "/app:1"
	dig := pushImage(t, ref)
	if _, err := Sign(ctx, ref, mustKey(t), SignOptions{}); err != nil {
		t.Fatal(err)
	}
	tag, _ := name.NewTag(host+"/app:"+strings.Replace(dig, ":", "-", 1), name.Insecure)
	idx, err := remote.Index(tag)
	if err != nil {
		t.Fatalf("fallback tag index: %v", err)
	}
	im, _ := idx.IndexManifest()
	if len(im.Manifests) != 1 || im.Manifests[0].ArtifactType != BundleMediaType {
		t.Fatalf("fallback index %+v", im.Manifests)
	}
}

func TestSeveralLegacySignatures(t *testing.T) {
	ctx := context.Background()
	host := newRegistry(t, true)
	ref := host + "/app:1"
	dig := pushImage(t, ref)
	k1, k2 := mustKey(t), mustKey(t)
	for _, k := range []*PrivateKey{k1, k2} {
		if _, err := Sign(ctx, ref, k, SignOptions{Format: FormatLegacy, Annotations: map[string]string{"env": "prod"}}); err != nil {
			t.Fatal(err)
		}
	}
	tag, _ := name.NewTag(host+"/app:"+strings.Replace(dig, ":", "-", 1)+".sig", name.Insecure)
	img, err := remote.Image(tag)
	if err != nil {
		t.Fatal(err)
	}
	m, _ := img.Manifest()
	if len(m.Layers) != 2 {
		t.Fatalf(".sig has %d layers, want 2", len(m.Layers))
	}
	for _, k := range []*PrivateKey{k1, k2} {
		res, err := Verify(ctx, ref, []*PublicKey{k.Public()}, VerifyOptions{Annotations: map[string]string{"env": "prod"}})
		if err != nil || len(res.Signatures) != 1 {
			t.Fatalf("verify: %+v %v", res, err)
		}
	}
	_, err = Verify(ctx, ref, []*PublicKey{k1.Public()}, VerifyOptions{Annotations: map[string]string{"env": "dev"}})
	notVerified(t, err, `annotation env="prod", want "dev"`)
}

func TestBundleAnnotations(t *testing.T) {
	ctx := context.Background()
	host := newRegistry(t, true)
	ref := host + "/app:1"
	pushImage(t, ref)
	k := mustKey(t)
	if _, err := Sign(ctx, ref, k, SignOptions{Annotations: map[string]string{"team": "a"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := Verify(ctx, ref, []*PublicKey{k.Public()}, VerifyOptions{Annotations: map[string]string{"team": "a"}}); err != nil {
		t.Fatal(err)
	}
	_, err := Verify(ctx, ref, []*PublicKey{k.Public()}, VerifyOptions{Annotations: map[string]string{"team": "b"}})
	notVerified(t, err, "annotation team")
}

// The tag now names another manifest (tampered or replaced): the old
// signature does not cover it.
func TestVerifyRefusesReplacedManifest(t *testing.T) {
	ctx := context.Background()
	host := newRegistry(t, true)
	ref := host + "/app:1"
	pushImage(t, ref)
	k := mustKey(t)
	for _, f := range []Format{FormatBundle, FormatLegacy} {
		if _, err := Sign(ctx, ref, k, SignOptions{Format: f}); err != nil {
			t.Fatal(err)
		}
	}
	other := pushImage(t, ref)
	_, err := Verify(ctx, ref, []*PublicKey{k.Public()}, VerifyOptions{})
	notVerified(t, err, "no signatures found for "+other)
}

// A valid signature of image A copied onto image B is refused: the signed
// claim names A's digest.
func TestVerifyRefusesSignatureOfAnotherDigest(t *testing.T) {
	ctx := context.Background()
	host := newRegistry(t, true)
	a, b := host+"/app:a", host+"/app:b"
	da := pushImage(t, a)
	db := pushImage(t, b)
	k := mustKey(t)
	ta, err := resolve(ctx, a, Options{})
	if err != nil {
		t.Fatal(err)
	}
	tb, _ := resolve(ctx, b, Options{})

	// Legacy: the payload for A, signed, placed in B's .sig.
	payload, _ := newSimplesigning(ta.repo.Name(), da, nil)
	sig, _ := k.signMessage(payload)
	if _, err := appendToTag(tb, ".sig", simplesigningMediaType, payload, map[string]string{annotationSignature: base64.StdEncoding.EncodeToString(sig)}); err != nil {
		t.Fatal(err)
	}
	// Bundle: a statement about A attached to B.
	st, _ := newStatement("", da, CosignSignPredicate, nil, nil)
	env, _ := envelope(ctx, k, st)
	bu, _ := newBundle(env, k.Public())
	if _, err := writeReferrer(tb, BundleMediaType, BundleMediaType, bu, map[string]string{annotationBundlePredType: CosignSignPredicate}); err != nil {
		t.Fatal(err)
	}
	_, err = Verify(ctx, b, []*PublicKey{k.Public()}, VerifyOptions{})
	notVerified(t, err, "claims "+da+", not "+db)
	notVerified(t, err, "is about "+da+", not "+db)
}

// A .sig layer whose payload was changed after signing (same signature
// annotation) is refused.
func TestVerifyRefusesTamperedPayload(t *testing.T) {
	ctx := context.Background()
	host := newRegistry(t, true)
	ref := host + "/app:1"
	dig := pushImage(t, ref)
	k := mustKey(t)
	if _, err := Sign(ctx, ref, k, SignOptions{Format: FormatLegacy}); err != nil {
		t.Fatal(err)
	}
	tg, _ := resolve(ctx, ref, Options{})
	tag := tg.tag(".sig")
	img, _ := remote.Image(tag)
	m, _ := img.Manifest()
	payload, _ := newSimplesigning(tg.repo.Name(), dig, map[string]string{"added": "later"})
	base, _ := mutate.Config(mutate.MediaType(emptyImage(), types.OCIManifestSchema1), v1.Config{})
	forged, err := mutate.Append(base, mutate.Addendum{Layer: static.NewLayer(payload, simplesigningMediaType), Annotations: m.Layers[0].Annotations})
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(tag, forged); err != nil {
		t.Fatal(err)
	}
	_, err = Verify(ctx, ref, []*PublicKey{k.Public()}, VerifyOptions{})
	notVerified(t, err, "signature does not match")
}
