package api

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
)

// ExecRequest is the body of POST /v1/containers/{name}/exec.
type ExecRequest struct {
	Args   []string `json:"args"`
	Env    []string `json:"env,omitempty"`  // KEY=VALUE
	User   string   `json:"user,omitempty"` // uid[:gid]
	Tty    bool     `json:"tty,omitempty"`
	Stdin  bool     `json:"stdin,omitempty"` // attach the client's input (-i)
	Width  uint16   `json:"width,omitempty"`
	Height uint16   `json:"height,omitempty"`
}

// ExecUpgrade is the protocol name of the Upgrade header of an exec: the
// HTTP connection becomes a stream of frames (see WriteFrame).
const ExecUpgrade = "berth-exec"

// Frame types. One connection carries input, both outputs, terminal size
// changes and the exit code, so each chunk is tagged with what it is.
const (
	FrameData     byte = 0 // client→server: stdin; server→client: stdout
	FrameStderr   byte = 1 // server→client
	FrameResize   byte = 2 // client→server: rows, cols (2 bytes each, big-endian)
	FrameExit     byte = 3 // server→client: exit code (4 bytes, big-endian, signed); last frame
	FrameStdinEOF byte = 4 // client→server: no more input
	FrameError    byte = 5 // server→client: the exec failed to run (message); last frame
)

// MaxFramePayload bounds a frame so a corrupt or hostile length cannot make
// the reader allocate without limit.
const MaxFramePayload = 1 << 20

// WriteFrame writes one frame: type (1 byte), payload length (4 bytes,
// big-endian), payload.
func WriteFrame(w io.Writer, typ byte, payload []byte) error {
	if len(payload) > MaxFramePayload {
		return fmt.Errorf("exec frame of %d bytes exceeds the %d-byte limit", len(payload), MaxFramePayload)
	}
	buf := make([]byte, 5+len(payload))
	buf[0] = typ
	binary.BigEndian.PutUint32(buf[1:5], uint32(len(payload)))
	copy(buf[5:], payload)
	_, err := w.Write(buf)
	return err
}

// ReadFrame reads one frame. io.EOF means the stream ended cleanly between
// frames; a stream cut inside a frame is io.ErrUnexpectedEOF.
func ReadFrame(r io.Reader) (typ byte, payload []byte, err error) {
	var hdr [5]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return 0, nil, err
	}
	n := binary.BigEndian.Uint32(hdr[1:5])
	if n > MaxFramePayload {
		return 0, nil, fmt.Errorf("exec frame of type %d claims %d bytes, over the %d-byte limit", hdr[0], n, MaxFramePayload)
	}
	payload = make([]byte, n)
	if _, err := io.ReadFull(r, payload); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return 0, nil, err
	}
	return hdr[0], payload, nil
}

// ResizePayload encodes a terminal size for a FrameResize.
func ResizePayload(rows, cols uint16) []byte {
	b := make([]byte, 4)
	binary.BigEndian.PutUint16(b[0:2], rows)
	binary.BigEndian.PutUint16(b[2:4], cols)
	return b
}

// ParseResize decodes a FrameResize payload.
func ParseResize(p []byte) (rows, cols uint16, err error) {
	if len(p) != 4 {
		return 0, 0, fmt.Errorf("resize frame has %d bytes, want 4", len(p))
	}
	return binary.BigEndian.Uint16(p[0:2]), binary.BigEndian.Uint16(p[2:4]), nil
}

// ExitPayload encodes an exit code for a FrameExit.
func ExitPayload(code int) []byte {
	b := make([]byte, 4)
	binary.BigEndian.PutUint32(b, uint32(int32(code)))
	return b
}

// ParseExit decodes a FrameExit payload.
func ParseExit(p []byte) (int, error) {
	if len(p) != 4 {
		return 0, fmt.Errorf("exit frame has %d bytes, want 4", len(p))
	}
	return int(int32(binary.BigEndian.Uint32(p))), nil
}

// FrameWriter is an io.Writer that sends each Write as frames of one type;
// writers of different types may share a connection (they lock Mu).
type FrameWriter struct {
	Mu   *sync.Mutex
	W    io.Writer
	Type byte
}

func (f FrameWriter) Write(p []byte) (int, error) {
	f.Mu.Lock()
	defer f.Mu.Unlock()
	for off := 0; off < len(p); {
		n := min(len(p)-off, MaxFramePayload)
		if err := WriteFrame(f.W, f.Type, p[off:off+n]); err != nil {
			return off, err
		}
		off += n
	}
	return len(p), nil
}

// Exec runs a process in the named container (berth exec) and returns its
// exit code. stdin (nil: none) is forwarded until it ends; stdout and
// stderr receive the outputs (with a tty, everything arrives on stdout);
// every size on resize (rows, cols) is passed on to the terminal. Cancelling
// ctx cuts the connection, which kills the process.
func (c *Client) Exec(ctx context.Context, name string, req ExecRequest, stdin io.Reader, stdout, stderr io.Writer, resize <-chan [2]uint16) (int, error) {
	path, err := ContainerExec.Path(name)
	if err != nil {
		return -1, err
	}
	body, err := json.Marshal(req)
	if err != nil {
		return -1, err
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", c.socket)
	if err != nil {
		return -1, c.noDaemon(err)
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()

	hreq, err := http.NewRequest(ContainerExec.Method(), "http://berth"+Version+path, bytes.NewReader(body))
	if err != nil {
		return -1, err
	}
	hreq.Header.Set("Content-Type", "application/json")
	hreq.Header.Set("Connection", "Upgrade")
	hreq.Header.Set("Upgrade", ExecUpgrade)
	if err := hreq.Write(conn); err != nil {
		return -1, c.ctxErr(ctx, err)
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, hreq)
	if err != nil {
		return -1, c.ctxErr(ctx, fmt.Errorf("exec in %s: reading the daemon's answer: %w", name, err))
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		defer resp.Body.Close()
		e := &Error{Status: resp.StatusCode}
		raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		if json.Unmarshal(raw, e) != nil || e.Message == "" {
			e.Message = fmt.Sprintf("daemon answered %s: %s", resp.Status, bytes.TrimSpace(raw))
		}
		return -1, e
	}
	if !strings.EqualFold(resp.Header.Get("Upgrade"), ExecUpgrade) {
		return -1, fmt.Errorf("exec in %s: daemon switched to protocol %q, want %q", name, resp.Header.Get("Upgrade"), ExecUpgrade)
	}

	var mu sync.Mutex
	send := func(typ byte, p []byte) error {
		mu.Lock()
		defer mu.Unlock()
		return WriteFrame(conn, typ, p)
	}
	done := make(chan struct{})
	defer close(done)
	// Input: the goroutine may stay blocked in stdin.Read after the
	// process ends (a terminal cannot be interrupted); the caller exits.
	go func() {
		if stdin != nil && req.Stdin {
			_, _ = io.Copy(FrameWriter{Mu: &mu, W: conn, Type: FrameData}, stdin)
		}
		_ = send(FrameStdinEOF, nil)
	}()
	if resize != nil {
		go func() {
			for {
				select {
				case <-done:
					return
				case s, ok := <-resize:
					if !ok {
						return
					}
					if send(FrameResize, ResizePayload(s[0], s[1])) != nil {
						return
					}
				}
			}
		}()
	}
	if stdout == nil {
		stdout = io.Discard
	}
	if stderr == nil {
		stderr = io.Discard
	}
	for {
		typ, p, err := ReadFrame(br)
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = errors.New("the daemon closed the connection before the process exited")
			}
			return -1, c.ctxErr(ctx, fmt.Errorf("exec in %s: %w", name, err))
		}
		switch typ {
		case FrameData:
			if _, err := stdout.Write(p); err != nil {
				return -1, err
			}
		case FrameStderr:
			if _, err := stderr.Write(p); err != nil {
				return -1, err
			}
		case FrameExit:
			return ParseExit(p)
		case FrameError:
			return -1, &Error{Status: http.StatusInternalServerError, Message: string(p)}
		default:
			return -1, fmt.Errorf("exec in %s: unexpected frame type %d from the daemon", name, typ)
		}
	}
}

// ctxErr prefers the context's error when the connection failed because
// the caller cancelled.
func (c *Client) ctxErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}
