package auth

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
)

// signingKeySize is the HS256 key length in bytes (RFC 7518 asks for at
// least the hash size, 256 bits).
const signingKeySize = 32

// loadOrCreateKey returns the signing key stored in path, creating the file
// with a new random key when it does not exist. The file holds the key in
// standard base64 on one line. An empty path yields a key that lives in
// memory only (tokens then end with the process).
func loadOrCreateKey(path string, logger *slog.Logger) ([]byte, error) {
	if path == "" {
		return randomKey()
	}
	key, err := readKey(path, logger)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return key, err
	}
	key, err = randomKey()
	if err != nil {
		return nil, err
	}
	if err := createKeyFile(path, key); err != nil {
		if errors.Is(err, fs.ErrExist) {
			// Another process created it first: use its key, so both
			// sign and verify alike.
			return readKey(path, logger)
		}
		return nil, err
	}
	return key, nil
}

func randomKey() ([]byte, error) {
	key := make([]byte, signingKeySize)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("token.keyFile: generating a key: %w", err)
	}
	return key, nil
}

func readKey(path string, logger *slog.Logger) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("token.keyFile: %w", err)
	}
	key, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(data)))
	if err != nil {
		return nil, fmt.Errorf("token.keyFile: %s does not hold a base64 key: %v", path, err)
	}
	if len(key) < signingKeySize {
		return nil, fmt.Errorf("token.keyFile: %s holds a %d-byte key, at least %d bytes are needed", path, len(key), signingKeySize)
	}
	if fi, err := os.Stat(path); err == nil && fi.Mode().Perm()&0o077 != 0 {
		logger.Warn("token signing key file is accessible by group or others; chmod 600 it", "file", path, "mode", fi.Mode().Perm().String())
	}
	return key, nil
}

// createKeyFile writes the key to a temporary file in the same directory,
// syncs it and links it into place. Linking (unlike rename) fails when the
// file appeared meanwhile, so two processes starting together cannot end up
// with different keys; filesystems without hard links fall back to rename.
func createKeyFile(path string, key []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("token.keyFile: %w", err)
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("token.keyFile: %w", err)
	}
	tmpName := tmp.Name()
	defer os.Remove(tmpName)
	// CreateTemp already uses 0600; Chmod guards against an unusual umask
	// or platform.
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("token.keyFile: %w", err)
	}
	if _, err := tmp.WriteString(base64.StdEncoding.EncodeToString(key) + "\n"); err != nil {
		tmp.Close()
		return fmt.Errorf("token.keyFile: writing %s: %w", tmpName, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("token.keyFile: syncing %s: %w", tmpName, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("token.keyFile: %w", err)
	}
	if err := os.Link(tmpName, path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return err
		}
		if err := os.Rename(tmpName, path); err != nil {
			return fmt.Errorf("token.keyFile: %w", err)
		}
	}
	// Sync the directory so the new name survives a crash.
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}
