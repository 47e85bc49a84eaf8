// Package source turns the layer sources of berth.yaml (files, a Go binary,
// users, paths, a tarball or directory tree) into layer trees, and hashes
// their inputs into cache keys so an unchanged layer is never rebuilt.
//
// Sources take plain option structs; mapping berth.yaml onto them (and
// resolving ${VARS}) is the caller's job.
package source

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"hash"

	"github.com/berth-dev/berth/internal/build/layer"
)

// Source is one layer's input.
type Source interface {
	// Key hashes every input that can influence Tree (kind, options and
	// content hashes). Equal keys mean equal trees.
	Key(ctx context.Context) (string, error)
	// Tree returns the layer's contents; called on a cache miss.
	Tree(ctx context.Context) (*layer.Tree, error)
}

// keyVersion is mixed into every key; bump it when a source's tree or key
// format changes so old cache entries stop matching.
const keyVersion = "berth-source-v1"

// keyHash accumulates a key as a sequence of JSON records, which gives an
// unambiguous encoding (no two record sequences hash the same stream).
type keyHash struct {
	h   hash.Hash
	enc *json.Encoder
	err error
}

func newKey(kind string, options any) *keyHash {
	k := &keyHash{h: sha256.New()}
	k.enc = json.NewEncoder(k.h)
	k.add(keyVersion)
	k.add(kind)
	k.add(options)
	return k
}

func (k *keyHash) add(v any) {
	if k.err == nil {
		k.err = k.enc.Encode(v)
	}
}

func (k *keyHash) sum() (string, error) {
	if k.err != nil {
		return "", k.err
	}
	return hex.EncodeToString(k.h.Sum(nil)), nil
}

// keyEntry is what a key records per tree entry.
type keyEntry struct {
	Path     string `json:"p"`
	Type     string `json:"t"`
	Mode     int64  `json:"m"`
	UID      int    `json:"u"`
	GID      int    `json:"g"`
	Linkname string `json:"l,omitempty"`
	SHA256   string `json:"h,omitempty"`
}
