package engine

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/berth-dev/berth/internal/engine/api"
)

// containerByName finds a container by its name (<stack>-<service>-<n>).
func (e *Engine) containerByName(name string) (Container, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, m := range e.containers {
		if m.Name == name {
			return m.Container, true
		}
	}
	return Container{}, false
}

// ServeExec (api.ContainerExec) runs a process in a container (berth exec). The request is
// checked while it is still plain HTTP, so errors get a status code; then
// the connection is taken over (101 Switching Protocols) and carries
// frames both ways until the process exits.
func (e *Engine) ServeExec(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if !strings.EqualFold(r.Header.Get("Upgrade"), api.ExecUpgrade) {
		api.WriteError(w, http.StatusBadRequest, fmt.Errorf("exec needs the header Upgrade: %s", api.ExecUpgrade))
		return
	}
	var req api.ExecRequest
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&req); err != nil {
		api.WriteError(w, http.StatusBadRequest, fmt.Errorf("exec request: %w", err))
		return
	}
	if len(req.Args) == 0 || req.Args[0] == "" {
		api.WriteError(w, http.StatusBadRequest, errors.New("exec request: no command (args is empty)"))
		return
	}
	c, ok := e.containerByName(name)
	if !ok {
		api.WriteError(w, http.StatusNotFound, fmt.Errorf("no container named %q", name))
		return
	}
	if c.State != StateRunning {
		api.WriteError(w, http.StatusConflict, fmt.Errorf("container %s is %s, not running", name, c.State))
		return
	}

	conn, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		api.WriteError(w, http.StatusInternalServerError, fmt.Errorf("exec: cannot take over the connection: %w", err))
		return
	}
	defer conn.Close()
	if _, err := io.WriteString(brw, "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: "+api.ExecUpgrade+"\r\n\r\n"); err != nil {
		return
	}
	if err := brw.Flush(); err != nil {
		return
	}
	code, err := e.runExec(r.Context(), c, req, conn, brw.Reader)
	// The process has ended: the last frame says how.
	if err != nil {
		e.log.Warn("exec failed", "container", name, "err", err)
		_ = api.WriteFrame(conn, api.FrameError, []byte(err.Error()))
		return
	}
	_ = api.WriteFrame(conn, api.FrameExit, api.ExitPayload(code))
}

// runExec relays frames between the connection and the process. in
// reads the client's frames (it holds what bufio buffered past the
// request). The connection is closed by the caller after the last frame.
func (e *Engine) runExec(ctx context.Context, c Container, req api.ExecRequest, conn net.Conn, in *bufio.Reader) (int, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var mu sync.Mutex // outputs share the connection
	o := ExecIO{
		Args: req.Args, Env: req.Env, User: req.User, Tty: req.Tty, Width: req.Width, Height: req.Height,
		Stdout: api.FrameWriter{Mu: &mu, W: conn, Type: api.FrameData},
		Stderr: api.FrameWriter{Mu: &mu, W: conn, Type: api.FrameStderr},
	}
	var stdinR *io.PipeReader
	var stdinW *io.PipeWriter
	if req.Stdin {
		stdinR, stdinW = io.Pipe()
		o.Stdin = stdinR
	}
	var resize chan [2]uint16
	if req.Tty {
		resize = make(chan [2]uint16, 1)
		o.Resize = resize
	}
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		e.readExecFrames(in, stdinW, resize, cancel)
	}()
	code, err := e.rt.ExecIO(ctx, c.ID, o)
	// Stop the frame reader and wait for it, so nothing writes to the
	// pipe or the resize channel afterwards: closing the pipe frees a
	// reader blocked on input the process never read, the deadline one
	// blocked on the connection. The connection stays writable for the
	// last frame.
	if stdinR != nil {
		stdinR.CloseWithError(io.ErrClosedPipe)
	}
	_ = conn.SetReadDeadline(time.Now())
	<-readerDone
	return code, err
}

// readExecFrames reads the client's frames until the connection ends:
// input goes to stdin, sizes to resize. The client going away (a read
// error before stdin ended, or at any time without stdin) cancels the
// exec, which kills the process, so no process outlives its client.
func (e *Engine) readExecFrames(in io.Reader, stdin *io.PipeWriter, resize chan [2]uint16, cancel context.CancelFunc) {
	if resize != nil {
		defer close(resize)
	}
	for {
		typ, p, err := api.ReadFrame(in)
		if err != nil {
			if stdin != nil {
				stdin.CloseWithError(io.ErrUnexpectedEOF)
			}
			cancel()
			return
		}
		switch typ {
		case api.FrameData:
			if stdin != nil {
				// A process that stopped reading must not wedge the reader
				// past its exit: the pipe is closed when ExecIO returns.
				if _, err := stdin.Write(p); err != nil {
					stdin = nil
				}
			}
		case api.FrameStdinEOF:
			if stdin != nil {
				stdin.Close()
				stdin = nil
			}
		case api.FrameResize:
			rows, cols, err := api.ParseResize(p)
			if err != nil || resize == nil {
				continue
			}
			// Keep only the newest size when the consumer lags.
			select {
			case resize <- [2]uint16{rows, cols}:
			default:
				select {
				case <-resize:
				default:
				}
				resize <- [2]uint16{rows, cols}
			}
		default:
			e.log.Warn("exec: ignoring an unknown frame type from the client", "type", typ)
		}
	}
}
