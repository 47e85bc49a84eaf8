package proxy

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"
)

// handle routes and forwards the request in fc.req and writes the answer;
// false when the client connection must close afterwards. The end of the
// answer is flushed after the metrics are counted, so a client that has
// its answer finds it counted.
func (fc *fastConn) handle() bool {
	keep := fc.route()
	if err := fc.bw.Flush(); err != nil {
		return false
	}
	return keep
}

func (fc *fastConn) route() bool {
	st := fc.l.state.Load()
	req := &fc.req
	if st.mode != ModeHTTP {
		fc.writeError(http.StatusServiceUnavailable, "listener is no longer in http mode\n", false)
		return false
	}
	rt := st.route(string(req.host))
	if rt == nil {
		fc.writeError(http.StatusNotFound, fmt.Sprintf("no service for host %q\n", req.host), req.contentLength <= 0)
		return !req.close && req.contentLength <= 0
	}
	fc.useRoute(rt)
	m := rt.m
	var start time.Time
	if m != nil {
		start = time.Now()
		m.inflight.Inc()
	}
	code, keep := fc.forward(st, rt)
	if m != nil {
		m.inflight.Dec()
		m.code(code).Inc()
		m.duration.Observe(time.Since(start).Seconds())
	}
	return keep && !req.close
}

// forward sends the request through listener.forward, with fc as the
// exchange. It returns the status sent (499 when the client left) and
// whether the client connection can carry another request.
func (fc *fastConn) forward(st *listenerState, rt *route) (int, bool) {
	fc.keep = false // set by the answer, if one is sent
	from := fc.prior
	fc.prior = prior{}
	code := fc.l.forward(context.Background(), fc, st, rt, from)
	return code, fc.keep
}

// The fast path's single steps for listener.forward (see exchange).

func (fc *fastConn) replayable() bool {
	m := string(fc.req.method)
	return fc.req.contentLength <= 0 && (m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions)
}

func (fc *fastConn) host() string { return string(fc.req.host) }

// extra is the header lines every answer on the connection carries.
func (fc *fastConn) extra() string {
	if fc.tlsState == nil {
		return ""
	}
	return fc.l.state.Load().hstsLine
}

func (fc *fastConn) useRoute(rt *route) { fc.tc.writeTimeout.Store(int64(rt.timeouts.write)) }

func (fc *fastConn) clientGone() bool { return fc.gone.Load() }

func (fc *fastConn) send(rt *route, bc *backendConn) error {
	if err := fc.writeRequest(bc, rt.timeouts.readBody); err != nil {
		return err
	}
	bc.conn.SetReadDeadline(time.Now().Add(rt.timeouts.responseHeader))
	fc.armWatch(bc.abort, true)
	err := fc.readResponseHead(bc)
	fc.disarmWatch()
	if err == nil {
		bc.conn.SetReadDeadline(time.Time{})
	}
	return err
}

func (fc *fastConn) clientFailed(err error) (int, bool) {
	if fc.gone.Load() {
		return 499, true
	}
	var ce *clientError
	if errors.As(err, &ce) {
		// A stalled body is answered 408, a client that left gets
		// nothing. The connection closes: its stream is unframed.
		if isTimeout(ce.err) {
			fc.writeError(http.StatusRequestTimeout, "request body timeout\n", false)
			return http.StatusRequestTimeout, true
		}
		return 499, true
	}
	return 0, false
}

func (fc *fastConn) respond(bc *backendConn) int {
	code, keep := fc.copyResponse(bc)
	fc.keep = keep
	return code
}

// fail answers with an error; the connection carries on when the
// request's body has been read (a request body cut short leaves the
// client stream unframed).
func (fc *fastConn) fail(code int, msg string) {
	fc.keep = fc.bodyRead()
	fc.writeError(code, msg+"\n", fc.keep)
}

// bodyRead reports whether the client's request body has been read (or
// there is none): only then can the connection carry another request
// after an error answer.
func (fc *fastConn) bodyRead() bool { return fc.req.contentLength <= 0 }

// clientError is the client failing while its request body was read.
type clientError struct{ err error }

func (e *clientError) Error() string { return "client: " + e.err.Error() }

// writeError answers with a short text body, like http.Error.
func (fc *fastConn) writeError(code int, msg string, keep bool) {
	writeErrorResponse(fc.bw, code, msg, keep && !fc.req.close && !fc.l.fastClosing.Load(), fc.extra())
}

// writeErrorResponse writes an answer with a short text body, like
// http.Error, with "Connection: close" unless keep and the header lines
// extra (CRLF-terminated; HSTS) if any.
func writeErrorResponse(w headWriter, code int, msg string, keep bool, extra string) {
	w.WriteString("HTTP/1.1 ")
	w.WriteString(strconv.Itoa(code))
	w.WriteByte(' ')
	w.WriteString(http.StatusText(code))
	w.WriteString("\r\nContent-Type: text/plain; charset=utf-8\r\nX-Content-Type-Options: nosniff\r\nContent-Length: ")
	w.WriteString(strconv.Itoa(len(msg)))
	if !keep {
		w.WriteString("\r\nConnection: close")
	}
	w.WriteString("\r\n")
	w.WriteString(extra)
	w.WriteString("\r\n")
	w.WriteString(msg)
}

// writeRequest sends the request head (hop-by-hop headers out,
// X-Forwarded-* in) and its body, read from the client as it goes.
func (fc *fastConn) writeRequest(bc *backendConn, readBody time.Duration) error {
	req := &fc.req
	w := bc.bw
	writeRequestHead(w, req, fc.ip, fc.tlsState != nil)
	if req.contentLength > 0 {
		fc.tc.readBody(readBody)
		err := pump(w, fc.br, req.contentLength)
		fc.tc.readBody(0)
		if werr := writeErr(err); werr != nil {
			return &bodyError{werr}
		}
		if err != nil {
			return &clientError{err}
		}
		req.contentLength = 0 // consumed: the client stream is framed again
	}
	if err := w.Flush(); err != nil {
		return &errNoResponse{err}
	}
	return nil
}

// headWriter is where a head is written: the fast path's bufio.Writer
// or an event loop's output buffer (outBuf).
type headWriter interface {
	io.Writer
	io.StringWriter
	io.ByteWriter
	AvailableBuffer() []byte
}

// writeRequestHead writes the request head to send to a backend:
// hop-by-hop headers out, X-Forwarded-* in, the client at ip (over TLS
// when secure).
func writeRequestHead(w headWriter, req *reqHead, ip string, secure bool) {
	w.Write(req.method)
	w.WriteByte(' ')
	w.Write(req.target)
	w.WriteString(" HTTP/1.1\r\nHost: ")
	w.Write(req.host)
	w.WriteString("\r\n")
	for _, f := range req.fields {
		w.Write(f.name)
		w.WriteString(": ")
		w.Write(f.value)
		w.WriteString("\r\n")
	}
	switch {
	case ip == "" && len(req.xff) > 0:
		w.WriteString("X-Forwarded-For: ")
		w.Write(req.xff)
		w.WriteString("\r\n")
	case ip != "":
		w.WriteString("X-Forwarded-For: ")
		if len(req.xff) > 0 {
			w.Write(req.xff)
			w.WriteString(", ")
		}
		w.WriteString(ip)
		w.WriteString("\r\n")
	}
	if secure {
		w.WriteString("X-Forwarded-Proto: https\r\nX-Forwarded-Host: ")
	} else {
		w.WriteString("X-Forwarded-Proto: http\r\nX-Forwarded-Host: ")
	}
	w.Write(req.host)
	w.WriteString("\r\n")
	if req.contentLength >= 0 {
		writeContentLength(w, req.contentLength)
	}
	w.WriteString("\r\n")
}

// readResponseHead reads the backend's final response head into fc.resp,
// skipping interim (1xx) responses.
func (fc *fastConn) readResponseHead(bc *backendConn) error {
	for {
		buf := fc.rbuf[:0]
		for {
			line, err := bc.br.ReadSlice('\n')
			if err != nil {
				if errors.Is(err, bufio.ErrBufferFull) {
					err = errBadResponse
				}
				return &errNoResponse{err}
			}
			buf = append(buf, line...)
			if len(buf) > maxRespHead {
				return &errNoResponse{errBadResponse}
			}
			if len(line) <= 2 && (len(line) == 1 || line[0] == '\r') {
				break
			}
		}
		fc.rbuf = buf
		if err := parseResponseHead(buf, &fc.resp); err != nil {
			return &errNoResponse{err}
		}
		switch s := fc.resp.status; {
		case s == http.StatusSwitchingProtocols:
			// Never asked for: upgrades go through net/http.
			return &errNoResponse{errBadResponse}
		case s < 200:
			continue // 100 Continue, 103 Early Hints: not forwarded
		}
		return nil
	}
}

// copyResponse writes the response head and streams the body to the
// client, flushing whenever the backend has nothing more buffered, then
// pools the backend connection (when the body was read to its end) and
// releases the backend. The caller flushes what is left.
func (fc *fastConn) copyResponse(bc *backendConn) (int, bool) {
	b := bc.b
	r := &fc.resp
	w := fc.bw
	keep := !fc.req.close && !fc.l.fastClosing.Load()
	mode := writeResponseHead(w, r, string(fc.req.method) == http.MethodHead, keep, fc.extra())
	noBody := mode == bodyNone

	var err error
	switch {
	case noBody:
	case mode == bodyChunked:
		err = pumpChunked(w, bc.br)
	case mode == bodyUntilClose:
		err = pumpUntilClose(w, bc.br)
	default:
		err = pump(w, bc.br, r.contentLength)
	}
	clientLeft := writeErr(err) != nil
	backendFailed := err != nil && !clientLeft
	// Done with the backend once its body is read: pool the connection
	// and release the backend before the last flush to the client, so a
	// drain does not wait on a slow client.
	if err == nil && !fc.gone.Load() && mode != bodyUntilClose && !r.close {
		b.putConn(bc)
	} else {
		bc.close()
	}
	if backendFailed {
		b.failures.Add(1)
	}
	b.release()
	switch {
	case fc.gone.Load():
		return 499, false
	case backendFailed:
		// The backend died mid-body: the status line is out, so the only
		// honest signal left is to break the client connection.
		return r.status, false
	case clientLeft:
		return 499, false // the client left
	}
	return r.status, keep // handle flushes the rest
}

// How a response body is framed on its way to the client.
const (
	bodyNone       = iota // HEAD, 204, 304
	bodyLength            // Content-Length
	bodyChunked           // chunked, passed on chunk by chunk
	bodyUntilClose        // ends when the backend closes: re-framed as chunked
)

// writeResponseHead writes the response head for the client (the
// backend's Connection-listed headers out, "Connection: close" unless
// keep, the lines extra in: the Strict-Transport-Security of a TLS
// listener, replacing the backend's) and returns how the body that
// follows is framed.
func writeResponseHead(w headWriter, r *respHead, head, keep bool, extra string) int {
	w.WriteString("HTTP/1.1 ")
	w.Write(r.statusLine)
	w.WriteString("\r\n")
	for _, f := range r.fields {
		if len(r.conn) > 0 && r.connListed(f.name) || extra != "" && equalFold(f.name, "Strict-Transport-Security") {
			continue
		}
		w.Write(f.name)
		w.WriteString(": ")
		w.Write(f.value)
		w.WriteString("\r\n")
	}
	w.WriteString(extra)
	mode := bodyLength
	switch {
	case head || r.status == http.StatusNoContent || r.status == http.StatusNotModified:
		mode = bodyNone
		if r.contentLength >= 0 && r.status != http.StatusNoContent {
			writeContentLength(w, r.contentLength)
		}
	case r.chunked:
		mode = bodyChunked
		w.WriteString("Transfer-Encoding: chunked\r\n")
	case r.contentLength >= 0:
		writeContentLength(w, r.contentLength)
	default:
		mode = bodyUntilClose
		w.WriteString("Transfer-Encoding: chunked\r\n")
	}
	if !keep {
		w.WriteString("Connection: close\r\n")
	}
	w.WriteString("\r\n")
	return mode
}

func writeContentLength(w headWriter, n int64) {
	w.WriteString("Content-Length: ")
	w.Write(strconv.AppendInt(w.AvailableBuffer(), n, 10)) // no allocation
	w.WriteString("\r\n")
}

// dstError is a pump failing to write its destination: the other party
// than a failed read of its source. The pumps return their destination's
// errors wrapped in it and their source's bare.
type dstError struct{ err error }

func (e *dstError) Error() string { return "write: " + e.err.Error() }
func (e *dstError) Unwrap() error { return e.err }

// writeErr is the error with which a pump failed to write its
// destination; nil when err is not that.
func writeErr(err error) error {
	if e, ok := err.(*dstError); ok {
		return e.err
	}
	return nil
}

// pump copies n bytes from src to dst, flushing dst before it waits on
// src so streamed bodies are not held back. A failure to write dst is
// returned as a *dstError: the read and the write are different parties.
func pump(dst *bufio.Writer, src *bufio.Reader, n int64) error {
	for n > 0 {
		if src.Buffered() == 0 {
			if dst.Buffered() > 0 {
				if err := dst.Flush(); err != nil {
					return &dstError{err}
				}
			}
			if _, err := src.Peek(1); err != nil {
				if err == io.EOF {
					err = io.ErrUnexpectedEOF
				}
				return err
			}
		}
		k := src.Buffered()
		if int64(k) > n {
			k = int(n)
		}
		p, _ := src.Peek(k)
		if _, err := dst.Write(p); err != nil {
			return &dstError{err}
		}
		src.Discard(k)
		n -= int64(k)
	}
	return nil
}

// readLine reads one line (without CRLF/LF) from src, flushing dst first
// when src has nothing buffered (its failure as a *dstError).
func readLine(dst *bufio.Writer, src *bufio.Reader) ([]byte, error) {
	if src.Buffered() == 0 && dst.Buffered() > 0 {
		if err := dst.Flush(); err != nil {
			return nil, &dstError{err}
		}
	}
	line, err := src.ReadSlice('\n')
	if err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	line, _ = cutLine(line)
	return line, nil
}

// pumpChunked passes a chunked body on chunk by chunk (extensions
// dropped, trailers kept) after checking its framing. Errors as pump's.
func pumpChunked(dst *bufio.Writer, src *bufio.Reader) error {
	for {
		line, err := readLine(dst, src)
		if err != nil {
			return err
		}
		size, ok := parseChunkSize(line)
		if !ok {
			return errBadResponse
		}
		dst.Write(strconv.AppendInt(dst.AvailableBuffer(), size, 16))
		dst.WriteString("\r\n")
		if size == 0 {
			break
		}
		if err := pump(dst, src, size); err != nil {
			return err
		}
		line, err = readLine(dst, src)
		if err != nil {
			return err
		}
		if len(line) != 0 {
			return errBadResponse
		}
		if _, err := dst.WriteString("\r\n"); err != nil {
			return &dstError{err}
		}
	}
	// Trailer section, then the empty line.
	for {
		line, err := readLine(dst, src)
		if err != nil {
			return err
		}
		if len(line) == 0 {
			if _, err := dst.WriteString("\r\n"); err != nil {
				return &dstError{err}
			}
			return nil
		}
		colon := 0
		for colon < len(line) && isTokenChar(line[colon]) {
			colon++
		}
		if colon == 0 || colon == len(line) || line[colon] != ':' {
			return errBadResponse
		}
		for _, c := range line {
			if c < ' ' && c != '\t' || c == 0x7f {
				return errBadResponse
			}
		}
		dst.Write(line)
		dst.WriteString("\r\n")
	}
}

// pumpUntilClose re-frames a body that ends when the backend closes as
// chunks. Errors as pump's.
func pumpUntilClose(dst *bufio.Writer, src *bufio.Reader) error {
	for {
		if src.Buffered() == 0 {
			if dst.Buffered() > 0 {
				if err := dst.Flush(); err != nil {
					return &dstError{err}
				}
			}
			if _, err := src.Peek(1); err != nil {
				if err == io.EOF {
					if _, err := dst.WriteString("0\r\n\r\n"); err != nil {
						return &dstError{err}
					}
					return nil
				}
				return err
			}
		}
		p, _ := src.Peek(src.Buffered())
		dst.Write(strconv.AppendInt(dst.AvailableBuffer(), int64(len(p)), 16))
		dst.WriteString("\r\n")
		dst.Write(p)
		if _, err := dst.WriteString("\r\n"); err != nil {
			return &dstError{err}
		}
		src.Discard(len(p))
	}
}
