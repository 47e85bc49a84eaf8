package keyagent

import (
	"bufio"
	"cmp"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Agent holds keys; Serve answers requests for them on a socket.
type Agent struct {
	mu   sync.Mutex
	keys map[string]*held
	now  func() time.Time
}

type held struct {
	signer  crypto.Signer
	entry   Entry
	expires time.Time // zero: no expiry
}

// New returns an empty agent.
func New() *Agent {
	return &Agent{keys: map[string]*held{}, now: time.Now}
}

// Listen creates the agent's socket at path: its directory is created 0700
// if missing and must belong to this user and not be writable by others;
// a stale socket (nobody answering) is replaced, a live one refused.
func Listen(path string) (net.Listener, error) {
	if path == "" {
		return nil, errors.New("no socket path")
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	st, err := os.Lstat(dir)
	if err != nil {
		return nil, err
	}
	var sys unix.Stat_t
	if err := unix.Lstat(dir, &sys); err != nil {
		return nil, err
	}
	if !st.IsDir() || int(sys.Uid) != os.Getuid() || st.Mode().Perm()&0o022 != 0 {
		return nil, fmt.Errorf("%s: the agent's directory must be a directory owned by uid %d and not writable by others", dir, os.Getuid())
	}
	if _, err := os.Lstat(path); err == nil {
		if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
			c.Close()
			return nil, fmt.Errorf("%s: an agent already listens there", path)
		}
		if err := os.Remove(path); err != nil {
			return nil, err
		}
	}
	old := unix.Umask(0o177)
	l, err := net.Listen("unix", path)
	unix.Umask(old)
	if err != nil {
		return nil, err
	}
	if err := os.Chmod(path, 0o600); err != nil {
		l.Close()
		return nil, err
	}
	return l, nil
}

// Serve answers requests on l until ctx ends; then it closes l (removing
// a unix socket file) and drops every key.
func (a *Agent) Serve(ctx context.Context, l net.Listener) error {
	stop := context.AfterFunc(ctx, func() { l.Close() })
	defer stop()
	defer a.removeAll()
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		c, err := l.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			a.serveConn(c)
		}()
	}
}

// peerAllowed says whether the process at the other end of c runs as this
// user or as root (a socket's mode is one check; the peer's uid is another).
func peerAllowed(c net.Conn) bool {
	uc, ok := c.(*net.UnixConn)
	if !ok {
		return false
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		return false
	}
	var cred *unix.Ucred
	var cerr error
	if err := raw.Control(func(fd uintptr) {
		cred, cerr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	}); err != nil || cerr != nil {
		return false
	}
	return int(cred.Uid) == os.Getuid() || cred.Uid == 0
}

func (a *Agent) serveConn(c net.Conn) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if !peerAllowed(c) {
		writeResponse(c, response{Error: "permission denied: the agent serves its own user only"})
		return
	}
	line, err := readLine(bufio.NewReaderSize(c, 4096))
	if err != nil {
		writeResponse(c, response{Error: err.Error()})
		return
	}
	var req request
	if err := json.Unmarshal(line, &req); err != nil {
		writeResponse(c, response{Error: "malformed request: " + err.Error()})
		return
	}
	writeResponse(c, a.handle(req))
}

// handle answers one request.
func (a *Agent) handle(req request) response {
	switch req.Op {
	case "add":
		e, err := a.Add(req.Key, req.Name, req.PKCS8, time.Duration(req.TTL)*time.Second)
		if err != nil {
			return response{Error: err.Error()}
		}
		return response{Keys: []Entry{e}}
	case "public":
		h := a.lookup(req.Key)
		if h == nil {
			return response{NotLoaded: true, Error: ErrNotLoaded.Error()}
		}
		return response{Public: h.entry.Public}
	case "sign":
		h := a.lookup(req.Key)
		if h == nil {
			return response{NotLoaded: true, Error: ErrNotLoaded.Error()}
		}
		var opts crypto.SignerOpts
		switch req.Hash {
		case "SHA-256":
			opts = crypto.SHA256
		case "":
			opts = crypto.Hash(0)
		default:
			return response{Error: fmt.Sprintf("hash %q unsupported (want SHA-256 or none)", req.Hash)}
		}
		sig, err := h.signer.Sign(rand.Reader, req.Digest, opts)
		if err != nil {
			return response{Error: "signing: " + err.Error()}
		}
		return response{Signature: sig}
	case "list":
		return response{Keys: a.List()}
	case "remove":
		if !a.Remove(req.Key) {
			return response{NotLoaded: true, Error: ErrNotLoaded.Error()}
		}
		return response{}
	default:
		return response{Error: fmt.Sprintf("unknown op %q", req.Op)}
	}
}

// Add loads a private key (PKCS#8 DER) under id for ttl (0: until the
// agent stops). Adding an id again replaces the key and its expiry.
func (a *Agent) Add(id, name string, pkcs8 []byte, ttl time.Duration) (Entry, error) {
	if len(id) != len("sha256:")+64 || id[:7] != "sha256:" {
		return Entry{}, fmt.Errorf("key id %q is not sha256:<64 hex>", id)
	}
	if ttl < 0 {
		return Entry{}, fmt.Errorf("ttl %v is negative", ttl)
	}
	if len(name) > 1024 {
		name = name[:1024]
	}
	k, err := x509.ParsePKCS8PrivateKey(pkcs8)
	if err != nil {
		return Entry{}, fmt.Errorf("private key is not PKCS#8: %v", err)
	}
	s, ok := k.(crypto.Signer)
	if !ok {
		return Entry{}, fmt.Errorf("unsupported private key type %T", k)
	}
	pub, err := x509.MarshalPKIXPublicKey(s.Public())
	if err != nil {
		return Entry{}, err
	}
	h := &held{signer: s, entry: Entry{Key: id, Name: name, Public: pub}}
	if ttl > 0 {
		h.expires = a.now().Add(ttl)
		h.entry.Expires = h.expires.UTC()
	}
	a.mu.Lock()
	a.keys[id] = h
	a.mu.Unlock()
	return h.entry, nil
}

// expired says whether h's time to live has ended at now.
func (h *held) expired(now time.Time) bool {
	return !h.expires.IsZero() && !now.Before(h.expires)
}

// lookup returns the key named id, dropping it if it has expired.
func (a *Agent) lookup(id string) *held {
	a.mu.Lock()
	defer a.mu.Unlock()
	h := a.keys[id]
	if h != nil && h.expired(a.now()) {
		delete(a.keys, id)
		return nil
	}
	return h
}

// List returns the loaded keys that have not expired, by name.
func (a *Agent) List() []Entry {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []Entry
	for id, h := range a.keys {
		if h.expired(a.now()) {
			delete(a.keys, id)
			continue
		}
		out = append(out, h.entry)
	}
	slices.SortFunc(out, func(x, y Entry) int {
		return cmp.Or(strings.Compare(x.Name, y.Name), strings.Compare(x.Key, y.Key))
	})
	return out
}

// Remove drops the key named id; it says whether it was loaded.
func (a *Agent) Remove(id string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	_, ok := a.keys[id]
	delete(a.keys, id)
	return ok
}

func (a *Agent) removeAll() {
	a.mu.Lock()
	clear(a.keys)
	a.mu.Unlock()
}

// readLine reads one newline-terminated message of at most maxMessage bytes.
func readLine(r *bufio.Reader) ([]byte, error) {
	var buf []byte
	for {
		chunk, err := r.ReadSlice('\n')
		buf = append(buf, chunk...)
		if len(buf) > maxMessage {
			return nil, fmt.Errorf("message larger than %d bytes", maxMessage)
		}
		switch {
		case err == nil:
			return buf, nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		default:
			return nil, err
		}
	}
}

func writeResponse(c net.Conn, r response) {
	b, _ := json.Marshal(r)
	_, _ = c.Write(append(b, '\n'))
}

// Run is berth key agent: listen on socket (DefaultSocket when empty),
// print the shell line that exports it to out, serve until ctx ends.
func Run(ctx context.Context, socket string, out io.Writer) error {
	if socket == "" {
		socket = DefaultSocket(os.LookupEnv)
	}
	l, err := Listen(socket)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "%s=%s; export %s\n", EnvSocket, socket, EnvSocket)
	return New().Serve(ctx, l)
}
