package deb

import (
	"bytes"
	"fmt"
	"os"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/clearsign"
)

// LoadKeyring reads an OpenPGP public keyring, binary (as in
// /usr/share/keyrings/*.gpg or `gpg --export`) or ASCII-armored (`--armor`).
func LoadKeyring(path string) (openpgp.EntityList, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("keyring: %w", err)
	}
	return parseKeyring(path, data)
}

func parseKeyring(path string, data []byte) (openpgp.EntityList, error) {
	// GnuPG's own keybox format (pubring.kbx) is not OpenPGP; name it instead
	// of failing with a packet parse error.
	if len(data) >= 12 && string(data[8:12]) == "KBXf" {
		return nil, fmt.Errorf("keyring %s is a GnuPG keybox, not an OpenPGP keyring; export it with `gpg --export KEYID > FILE`", path)
	}
	var (
		keys openpgp.EntityList
		err  error
	)
	if bytes.Contains(data[:min(len(data), 1024)], []byte("-----BEGIN PGP")) {
		keys, err = openpgp.ReadArmoredKeyRing(bytes.NewReader(data))
	} else {
		keys, err = openpgp.ReadKeyRing(bytes.NewReader(data))
	}
	if err != nil {
		return nil, fmt.Errorf("keyring %s: %w", path, err)
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("keyring %s: no keys", path)
	}
	return keys, nil
}

// clearsignedText returns the signed text of an InRelease file. With keys it
// verifies the signature; without, it only strips the armor. The file must
// consist of the signed message alone: text before or after it would not be
// covered by the signature and is rejected rather than silently used.
func clearsignedText(data []byte, keys openpgp.EntityList) ([]byte, error) {
	trimmed := bytes.TrimLeft(data, " \t\r\n")
	if !bytes.HasPrefix(trimmed, []byte("-----BEGIN PGP SIGNED MESSAGE-----")) {
		return nil, fmt.Errorf("not a clearsigned message (no BEGIN PGP SIGNED MESSAGE header)")
	}
	block, rest := clearsign.Decode(trimmed)
	if block == nil {
		return nil, fmt.Errorf("malformed clearsigned message")
	}
	if len(bytes.TrimSpace(rest)) != 0 {
		return nil, fmt.Errorf("unsigned data after the clearsigned message")
	}
	if keys != nil {
		if _, err := block.VerifySignature(keys, nil); err != nil {
			return nil, fmt.Errorf("signature check failed: %w", err)
		}
	}
	return block.Plaintext, nil
}

// checkDetached verifies Release against Release.gpg (armored or binary).
func checkDetached(signed, sig []byte, keys openpgp.EntityList) error {
	var err error
	if bytes.Contains(sig[:min(len(sig), 64)], []byte("-----BEGIN PGP")) {
		_, err = openpgp.CheckArmoredDetachedSignature(keys, bytes.NewReader(signed), bytes.NewReader(sig), nil)
	} else {
		_, err = openpgp.CheckDetachedSignature(keys, bytes.NewReader(signed), bytes.NewReader(sig), nil)
	}
	if err != nil {
		return fmt.Errorf("signature check failed: %w", err)
	}
	return nil
}
