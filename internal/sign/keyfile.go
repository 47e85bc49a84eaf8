package sign

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/berth-dev/berth/internal/atomicfile"
)

// KeyPairPaths are the files WriteKeyPair writes: PREFIX.key and PREFIX.pub.
func KeyPairPaths(prefix string) (key, pub string) { return prefix + ".key", prefix + ".pub" }

// WriteKeyPair generates an ECDSA P-256 key and writes PREFIX.key (cosign's
// encrypted format under password, mode 0600) and PREFIX.pub (PKIX PEM,
// 0644), each crash-safely. Existing files are refused unless force; the
// check happens before either file is written, so a refusal leaves both
// untouched.
func WriteKeyPair(prefix string, password []byte, force bool) (keyPath, pubPath string, err error) {
	if prefix == "" {
		return "", "", errors.New("empty output key prefix")
	}
	keyPath, pubPath = KeyPairPaths(prefix)
	if !force {
		if err := RefuseExisting(prefix); err != nil {
			return "", "", err
		}
	}
	k, err := GenerateKey()
	if err != nil {
		return "", "", err
	}
	priv, err := k.EncryptedPEM(password)
	if err != nil {
		return "", "", err
	}
	if err := atomicfile.Write(keyPath, priv, 0o600); err != nil {
		return "", "", fmt.Errorf("writing %s: %w", keyPath, err)
	}
	if err := atomicfile.Write(pubPath, k.Public().PEM(), 0o644); err != nil {
		return "", "", fmt.Errorf("writing %s: %w", pubPath, err)
	}
	return keyPath, pubPath, nil
}

// RefuseExisting fails when PREFIX.key or PREFIX.pub exists (callers check
// before asking for a password they would then not need).
func RefuseExisting(prefix string) error {
	keyPath, pubPath := KeyPairPaths(prefix)
	for _, p := range []string{keyPath, pubPath} {
		if _, err := os.Lstat(p); err == nil {
			return fmt.Errorf("%s already exists (use --force to overwrite)", p)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return nil
}
