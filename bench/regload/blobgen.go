package main

import (
	"bytes"
	cryptorand "crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"math/rand/v2"
	"sync/atomic"
)

// suffixLen is the number of bytes at the end of every generated blob that
// make it unique.
const suffixLen = 16

// blobGen produces an endless series of distinct blobs of one size without
// hashing a whole blob per operation: every blob shares one random prefix and
// differs only in a 16-byte suffix, and the SHA-256 state after the prefix is
// cloned for each blob. This keeps the load generator's CPU for the push
// scenario at a few microseconds per blob, so it measures the server (which
// still has to hash and store every byte) rather than the client.
type blobGen struct {
	size    int
	prefix  []byte
	state   hash.Cloner // SHA-256 state after writing prefix
	nonce   uint32      // distinguishes generators created in one process
	counter atomic.Uint64
}

var genNonce atomic.Uint32

// newBlobGen returns a generator with a random prefix: every blob it makes
// is new to any registry (the push scenario).
func newBlobGen(size int) (*blobGen, error) {
	if size < suffixLen {
		return nil, fmt.Errorf("blob size %d is smaller than the %d-byte unique suffix", size, suffixLen)
	}
	prefix := make([]byte, size-suffixLen)
	if _, err := cryptorand.Read(prefix); err != nil {
		return nil, fmt.Errorf("generate random blob prefix: %w", err)
	}
	return newBlobGenWithPrefix(size, prefix, genNonce.Add(1))
}

// newSeededBlobGen returns a generator that makes the same series of blobs
// for the same seed and size, so a later regload run against the same
// registry finds its fixtures already stored and skips uploading them.
func newSeededBlobGen(size int, seed uint64) (*blobGen, error) {
	if size < suffixLen {
		return nil, fmt.Errorf("blob size %d is smaller than the %d-byte unique suffix", size, suffixLen)
	}
	prefix := make([]byte, size-suffixLen)
	_, _ = seededRand(seed, uint64(size)).Read(prefix)
	return newBlobGenWithPrefix(size, prefix, 0)
}

func newBlobGenWithPrefix(size int, prefix []byte, nonce uint32) (*blobGen, error) {
	h, ok := sha256.New().(hash.Cloner)
	if !ok {
		return nil, fmt.Errorf("crypto/sha256 hash does not implement hash.Cloner")
	}
	h.Write(prefix)
	return &blobGen{size: size, prefix: prefix, state: h, nonce: nonce}, nil
}

// seededRand is a deterministic byte source for fixtures.
func seededRand(seed, stream uint64) *rand.ChaCha8 {
	var key [32]byte
	binary.BigEndian.PutUint64(key[0:8], seed)
	binary.BigEndian.PutUint64(key[8:16], stream)
	copy(key[16:], "regload-fixtures")
	return rand.NewChaCha8(key)
}

// blob is one generated blob: the shared prefix followed by its own suffix.
type blob struct {
	gen    *blobGen
	suffix [suffixLen]byte
	digest string
}

// next returns a blob that no earlier call (in this process or, thanks to the
// random prefix, any other run) has returned.
func (g *blobGen) next() (blob, error) {
	b := blob{gen: g}
	binary.BigEndian.PutUint32(b.suffix[0:4], g.nonce)
	binary.BigEndian.PutUint64(b.suffix[4:12], g.counter.Add(1))
	copy(b.suffix[12:], "rgld")
	h, err := g.state.Clone()
	if err != nil {
		return blob{}, fmt.Errorf("clone sha256 state: %w", err)
	}
	h.Write(b.suffix[:])
	b.digest = "sha256:" + hex.EncodeToString(h.Sum(nil))
	return b, nil
}

// reader streams the blob's bytes without copying the shared prefix.
func (b *blob) reader() io.Reader {
	return io.MultiReader(bytes.NewReader(b.gen.prefix), bytes.NewReader(b.suffix[:]))
}

func (b *blob) size() int64 { return int64(b.gen.size) }
