package keyagent

import (
	"bufio"
	"context"
	"crypto"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"time"
)

// Client talks to an agent's socket.
type Client struct {
	Socket  string
	Timeout time.Duration // per call; 0 means 10 s
}

// FromEnv returns a client for $BERTH_KEY_AGENT, or nil when it is unset
// or empty (getenv is os.LookupEnv in production).
func FromEnv(getenv func(string) (string, bool)) *Client {
	if v, ok := getenv(EnvSocket); ok && v != "" {
		return &Client{Socket: v}
	}
	return nil
}

func (c *Client) call(ctx context.Context, req request) (response, error) {
	t := c.Timeout
	if t == 0 {
		t = 10 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, t)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", c.Socket)
	if err != nil {
		return response{}, fmt.Errorf("key agent at %s (%s): %w", c.Socket, EnvSocket, err)
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	b, err := json.Marshal(req)
	if err != nil {
		return response{}, err
	}
	if _, err := conn.Write(append(b, '\n')); err != nil {
		return response{}, fmt.Errorf("key agent at %s: %w", c.Socket, err)
	}
	line, err := readLine(bufio.NewReader(io.LimitReader(conn, maxMessage+1)))
	if err != nil {
		return response{}, fmt.Errorf("key agent at %s: reading the answer: %w", c.Socket, err)
	}
	var resp response
	if err := json.Unmarshal(line, &resp); err != nil {
		return response{}, fmt.Errorf("key agent at %s: malformed answer: %v", c.Socket, err)
	}
	if resp.NotLoaded {
		return resp, ErrNotLoaded
	}
	if resp.Error != "" {
		return resp, fmt.Errorf("key agent at %s: %s", c.Socket, resp.Error)
	}
	return resp, nil
}

// Add loads a decrypted private key (PKCS#8 DER) under id (KeyID of its
// key file) for ttl (0: until the agent stops).
func (c *Client) Add(ctx context.Context, id, name string, pkcs8 []byte, ttl time.Duration) (Entry, error) {
	if ttl < 0 {
		return Entry{}, fmt.Errorf("ttl %v is negative", ttl)
	}
	resp, err := c.call(ctx, request{Op: "add", Key: id, Name: name, PKCS8: pkcs8, TTL: int64((ttl + time.Second - 1) / time.Second)})
	if err != nil {
		return Entry{}, err
	}
	if len(resp.Keys) != 1 {
		return Entry{}, errors.New("key agent: add answered no key")
	}
	return resp.Keys[0], nil
}

// List returns the keys the agent holds.
func (c *Client) List(ctx context.Context) ([]Entry, error) {
	resp, err := c.call(ctx, request{Op: "list"})
	return resp.Keys, err
}

// Remove drops the key id from the agent (ErrNotLoaded if it was not there).
func (c *Client) Remove(ctx context.Context, id string) error {
	_, err := c.call(ctx, request{Op: "remove", Key: id})
	return err
}

// Signer returns a crypto.Signer whose private half stays in the agent,
// for the key id; ErrNotLoaded (wrapped or not) when the agent lacks it.
func (c *Client) Signer(ctx context.Context, id string) (crypto.Signer, error) {
	resp, err := c.call(ctx, request{Op: "public", Key: id})
	if err != nil {
		return nil, err
	}
	pub, err := x509.ParsePKIXPublicKey(resp.Public)
	if err != nil {
		return nil, fmt.Errorf("key agent: public key: %v", err)
	}
	return &remoteSigner{c: c, id: id, pub: pub}, nil
}

// remoteSigner signs through the agent.
type remoteSigner struct {
	c   *Client
	id  string
	pub crypto.PublicKey
}

func (s *remoteSigner) Public() crypto.PublicKey { return s.pub }

func (s *remoteSigner) Sign(_ io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	var hash string
	switch h := opts.HashFunc(); h {
	case crypto.SHA256:
		hash = "SHA-256"
	case 0:
	default:
		return nil, fmt.Errorf("key agent: hash %v unsupported", h)
	}
	resp, err := s.c.call(context.Background(), request{Op: "sign", Key: s.id, Digest: digest, Hash: hash})
	if err != nil {
		return nil, err
	}
	return resp.Signature, nil
}

// WaitReady waits until an agent answers on c.Socket (for a `berth key
// add` right after starting `berth key agent &`), up to ctx's deadline.
func (c *Client) WaitReady(ctx context.Context) error {
	for {
		_, err := c.List(ctx)
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// DefaultSocket is where `berth key agent` listens without --socket:
// $BERTH_KEY_AGENT, else berth-key-agent-UID/agent.sock in the temp dir.
func DefaultSocket(getenv func(string) (string, bool)) string {
	if v, ok := getenv(EnvSocket); ok && v != "" {
		return v
	}
	return filepath.Join(os.TempDir(), fmt.Sprintf("berth-key-agent-%d", os.Getuid()), "agent.sock")
}

// errNoAgent says how to point a command at an agent.
var errNoAgent = fmt.Errorf("no key agent: set %s to the socket berth key agent prints", EnvSocket)

// ListFromEnv lists the keys of the agent at $BERTH_KEY_AGENT.
func ListFromEnv(ctx context.Context, getenv func(string) (string, bool)) ([]Entry, error) {
	c := FromEnv(getenv)
	if c == nil {
		return nil, errNoAgent
	}
	return c.List(ctx)
}
