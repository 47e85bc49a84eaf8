// Package keyagent holds decrypted signing keys in memory so that signing
// needs no password and no key derivation per command, the way ssh-agent
// does for SSH keys: `berth key agent` serves a unix socket (0600, in a
// 0700 directory, peers checked by uid), `berth key add` decrypts a key
// file once and loads it, and berth sign (with $BERTH_KEY_AGENT set) asks
// the agent to sign instead of decrypting the file.
//
// A key is named by the SHA-256 of its (encrypted) key file, so a command
// given --key FILE finds it without a password. Private keys never leave
// the agent after add; they are dropped when their time to live ends or
// the agent stops. The package knows nothing of key file formats.
package keyagent

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"time"
)

// EnvSocket names the environment variable that points commands at a
// running agent's socket.
const EnvSocket = "BERTH_KEY_AGENT"

// maxMessage bounds one request or response (an RSA-4096 PKCS#8 key is
// about 2.4 KiB; digests are 64 bytes at most).
const maxMessage = 64 << 10

// ErrNotLoaded is returned when the agent does not hold the key asked for.
var ErrNotLoaded = errors.New("key not loaded in the agent")

// KeyID names a key by its key file's content: "sha256:<hex>".
func KeyID(keyFile []byte) string {
	h := sha256.Sum256(keyFile)
	return "sha256:" + hex.EncodeToString(h[:])
}

// request is one call on the socket, a JSON line. Op is add, public,
// sign, list or remove.
type request struct {
	Op     string `json:"op"`
	Key    string `json:"key,omitempty"`
	Name   string `json:"name,omitempty"`   // add: a label shown by list (the file's path)
	PKCS8  []byte `json:"pkcs8,omitempty"`  // add: the private key, PKCS#8 DER
	TTL    int64  `json:"ttl,omitempty"`    // add: seconds to keep the key; 0 = until the agent stops
	Digest []byte `json:"digest,omitempty"` // sign: what to sign (a hash, or the message for Ed25519)
	Hash   string `json:"hash,omitempty"`   // sign: "SHA-256" or "" (none, Ed25519)
}

// response answers a request; Error is set on failure.
type response struct {
	Error     string  `json:"error,omitempty"`
	NotLoaded bool    `json:"notLoaded,omitempty"`
	Public    []byte  `json:"public,omitempty"` // PKIX DER
	Signature []byte  `json:"signature,omitempty"`
	Keys      []Entry `json:"keys,omitempty"`
}

// Entry describes a loaded key (never its private part).
type Entry struct {
	Key     string    `json:"key"`
	Name    string    `json:"name,omitempty"`
	Public  []byte    `json:"public"`
	Expires time.Time `json:"expires,omitzero"`
}
