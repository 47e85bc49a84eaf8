package sign

import (
	"context"
	"testing"
)

// FuzzParsePrivateKey: any key file content gives a key or an error,
// never a panic (the seed is a real encrypted key; mutations mostly fail
// the KDF/JSON checks before scrypt runs).
func FuzzParsePrivateKey(f *testing.F) {
	k, _ := GenerateKey()
	enc, _ := k.EncryptedPEM([]byte("pw"))
	f.Add(enc, []byte("pw"))
	f.Add([]byte("-----BEGIN ENCRYPTED COSIGN PRIVATE KEY-----\ne30=\n-----END ENCRYPTED COSIGN PRIVATE KEY-----\n"), []byte(""))
	f.Fuzz(func(t *testing.T, data, pw []byte) {
		_, _ = ParsePrivateKey(data, pw)
		_, _ = ParsePublicKey(data)
	})
}

// FuzzParseBundle: bundles, DSSE envelopes, statements and legacy
// payloads read from a registry never panic, and an envelope that parses
// goes through verification without panicking either.
func FuzzParseBundle(f *testing.F) {
	k, _ := GenerateKey()
	st, _ := newStatement("r", "sha256:ab", CosignSignPredicate, nil, nil)
	env, _ := envelope(context.Background(), k, st)
	b, _ := newBundle(env, k.Public())
	f.Add(b)
	f.Add(st)
	p, _ := newSimplesigning("r", "sha256:ab", map[string]string{"a": "b"})
	f.Add(p)
	f.Add([]byte(`{"mediaType":"application/vnd.dev.sigstore.bundle+json;version=0.1","dsseEnvelope":{"payload":"e30","payloadType":"application/vnd.in-toto+json","signatures":[{"sig":"_-8"}]}}`))
	keys := []*PublicKey{k.Public()}
	f.Fuzz(func(t *testing.T, data []byte) {
		if e, err := ParseBundle(data); err == nil {
			_, _, _ = openEnvelope(context.Background(), e, keys)
		}
		if e, err := ParseEnvelope(data); err == nil {
			_, _, _ = openEnvelope(context.Background(), e, keys)
		}
		if s, err := ParseStatement(data); err == nil {
			_ = s.About("sha256:ab")
			_ = subjects(s)
		}
		_, _, _ = ParseSimplesigning(data)
	})
}
