package proxy

import (
	"bytes"
	"errors"
	"strconv"
	"strings"
)

// Strict HTTP/1.1 parsing for the fast path (h1server.go). The fast path
// only takes requests whose framing cannot be read two ways: HTTP/1.1,
// origin-form target, one Host, at most one all-digit Content-Length, no
// Transfer-Encoding, no Expect, no Upgrade, no obs-fold, CRLF line ends,
// valid names and values. Anything else is handed, untouched, to net/http,
// which answers it (often with a 400) as the proxy always did: request
// smuggling needs two parsers that disagree, and the fast path never
// decides anything net/http would decide differently.

// field is one header line; name and value point into the copied head.
type field struct{ name, value []byte }

// reqHead is a parsed request head. Fields lists the headers to forward:
// hop-by-hop, Host, Content-Length and X-Forwarded-* are taken out.
type reqHead struct {
	method, target, host []byte
	fields               []field
	xff                  []byte // prior X-Forwarded-For values, joined
	contentLength        int64  // -1: no Content-Length header
	close                bool   // the client sent Connection: close
}

func (r *reqHead) reset() {
	r.method, r.target, r.host = nil, nil, nil
	r.fields = r.fields[:0]
	r.xff = r.xff[:0]
	r.contentLength = -1
	r.close = false
}

// scanHead reports the length of a complete request head (through the
// empty line) at the start of b, 0 when more bytes are needed, or -1 when a
// line ends in a bare LF or the head starts with an empty line (net/http's
// business).
func scanHead(b []byte) int {
	off := 0
	for {
		i := bytes.IndexByte(b[off:], '\n')
		if i < 0 {
			return 0
		}
		end := off + i
		if end == 0 || b[end-1] != '\r' {
			return -1
		}
		if end-off == 1 { // "\r\n": the empty line
			if off == 0 {
				return -1
			}
			return end + 1
		}
		off = end + 1
	}
}

// errDelegate means the request is not one the fast path takes.
var errDelegate = errors.New("request needs the full HTTP server")

// parseRequestHead parses a complete head (as found by scanHead) into r.
func parseRequestHead(h []byte, r *reqHead) error {
	r.reset()
	line, rest := cutLine(h)
	sp := bytes.IndexByte(line, ' ')
	if sp <= 0 {
		return errDelegate
	}
	r.method = line[:sp]
	for _, c := range r.method {
		if !isTokenChar(c) {
			return errDelegate
		}
	}
	line = line[sp+1:]
	sp = bytes.IndexByte(line, ' ')
	if sp <= 0 || line[0] != '/' || string(line[sp+1:]) != "HTTP/1.1" {
		return errDelegate // absolute-form, "*", CONNECT, other versions
	}
	r.target = line[:sp]
	if !validTarget(r.target) {
		return errDelegate
	}
	for {
		line, rest = cutLine(rest)
		if len(line) == 0 {
			break
		}
		name, value, ok := splitHeaderLine(line)
		if !ok {
			return errDelegate // includes obs-fold (a leading space is no token)
		}
		switch {
		case equalFold(name, "host"):
			if r.host != nil || !validHost(value) {
				return errDelegate
			}
			r.host = value
		case equalFold(name, "content-length"):
			if r.contentLength >= 0 {
				return errDelegate
			}
			n, ok := parseDecimal(value)
			if !ok {
				return errDelegate
			}
			r.contentLength = n
		case equalFold(name, "transfer-encoding"), equalFold(name, "expect"), equalFold(name, "upgrade"):
			return errDelegate
		case equalFold(name, "connection"):
			// Only close and keep-alive: a Connection header naming other
			// headers to drop goes the long way.
			ok := true
			forEachToken(value, func(t []byte) {
				switch {
				case equalFold(t, "close"):
					r.close = true
				case equalFold(t, "keep-alive"):
				default:
					ok = false
				}
			})
			if !ok {
				return errDelegate
			}
		case equalFold(name, "x-forwarded-for"):
			if len(value) > 0 {
				if len(r.xff) > 0 {
					r.xff = append(r.xff, ", "...)
				}
				r.xff = append(r.xff, value...)
			}
		case isHopHeader(name), equalFold(name, "x-forwarded-proto"), equalFold(name, "x-forwarded-host"):
			// Ours to set or not to forward.
		default:
			r.fields = append(r.fields, field{name, value})
		}
	}
	if r.host == nil {
		return errDelegate
	}
	return nil
}

// respHead is a parsed backend response head.
type respHead struct {
	status        int
	statusLine    []byte // "200 OK": code and reason
	fields        []field
	contentLength int64 // -1: none
	chunked       bool
	close         bool // the backend will close the connection after it
	conn          [][]byte
}

// errBadResponse is a response the proxy will not pass on.
var errBadResponse = errors.New("malformed response from backend")

// parseResponseHead parses a complete response head (lines joined with
// CRLF or LF, through the empty line). Backends are more trusted than
// clients, but framing is still checked: conflicting lengths are refused.
func parseResponseHead(h []byte, r *respHead) error {
	r.fields = r.fields[:0]
	r.conn = r.conn[:0]
	r.contentLength = -1
	r.chunked, r.close = false, false
	line, rest := cutLine(h)
	if len(line) < 12 || string(line[:7]) != "HTTP/1." || (line[7] != '1' && line[7] != '0') || line[8] != ' ' {
		return errBadResponse
	}
	http10 := line[7] == '0'
	r.statusLine = line[9:]
	code, ok := parseDecimal(r.statusLine[:3])
	if !ok || code < 100 || code > 999 || len(r.statusLine) > 3 && r.statusLine[3] != ' ' {
		return errBadResponse
	}
	for _, c := range r.statusLine {
		if c < ' ' && c != '\t' || c == 0x7f {
			return errBadResponse
		}
	}
	r.status = int(code)
	keepAlive := false
	for {
		line, rest = cutLine(rest)
		if len(line) == 0 {
			break
		}
		name, value, ok := splitHeaderLine(line)
		if !ok {
			return errBadResponse
		}
		switch {
		case equalFold(name, "content-length"):
			n, ok := parseDecimal(value)
			if !ok || r.contentLength >= 0 && r.contentLength != n {
				return errBadResponse
			}
			r.contentLength = n
		case equalFold(name, "transfer-encoding"):
			if !equalFold(value, "chunked") || r.chunked {
				return errBadResponse // net/http's client refuses these too
			}
			r.chunked = true
		case equalFold(name, "connection"):
			forEachToken(value, func(t []byte) {
				switch {
				case equalFold(t, "close"):
					r.close = true
				case equalFold(t, "keep-alive"):
					keepAlive = true
				default:
					r.conn = append(r.conn, t)
				}
			})
		case isHopHeader(name):
		default:
			r.fields = append(r.fields, field{name, value})
		}
	}
	if http10 && r.chunked {
		// RFC 9112 6.1: an HTTP/1.0 message with Transfer-Encoding has
		// faulty framing (net/http would read it to the close instead).
		return errBadResponse
	}
	if r.chunked && r.contentLength >= 0 {
		// RFC 9112 6.3: chunked wins, and the connection is not reused.
		r.contentLength = -1
		r.close = true
	}
	if http10 && !keepAlive {
		r.close = true
	}
	return nil
}

// connListed reports whether the response's Connection header names the
// header (those are hop-by-hop too).
func (r *respHead) connListed(name []byte) bool {
	for _, t := range r.conn {
		if bytes.EqualFold(t, name) {
			return true
		}
	}
	return false
}

// parseChunkSize reads a chunk-size line (without its line end): hex
// digits, optionally followed by extensions, which are dropped.
func parseChunkSize(line []byte) (int64, bool) {
	if i := bytes.IndexByte(line, ';'); i >= 0 {
		for _, c := range line[i:] {
			if c < ' ' && c != '\t' || c == 0x7f {
				return 0, false
			}
		}
		line = line[:i]
	}
	line = trimOWS(line)
	if len(line) == 0 || len(line) > 15 {
		return 0, false
	}
	n, err := strconv.ParseInt(string(line), 16, 64)
	return n, err == nil && n >= 0
}

// cutLine splits off the first line, without its CRLF or LF.
// splitHeaderLine splits a header field line into its name and its value
// (optional whitespace trimmed). ok is false for anything RFC 9110 does not
// allow: no colon, an empty name or one with a non-token byte (obs-fold
// included: a leading space is no token), control bytes in the value.
func splitHeaderLine(line []byte) (name, value []byte, ok bool) {
	colon := bytes.IndexByte(line, ':')
	if colon <= 0 {
		return nil, nil, false
	}
	name = line[:colon]
	for _, c := range name {
		if !isTokenChar(c) {
			return nil, nil, false
		}
	}
	value = trimOWS(line[colon+1:])
	for _, c := range value {
		if c < ' ' && c != '\t' || c == 0x7f {
			return nil, nil, false
		}
	}
	return name, value, true
}

func cutLine(b []byte) (line, rest []byte) {
	i := bytes.IndexByte(b, '\n')
	if i < 0 {
		return b, nil
	}
	line, rest = b[:i], b[i+1:]
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line, rest
}

func trimOWS(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

// parseDecimal accepts 1 to 18 ASCII digits and nothing else.
func parseDecimal(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 18 {
		return 0, false
	}
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

func forEachToken(v []byte, f func([]byte)) {
	for len(v) > 0 {
		t := v
		if i := bytes.IndexByte(v, ','); i >= 0 {
			t, v = v[:i], v[i+1:]
		} else {
			v = nil
		}
		if t = trimOWS(t); len(t) > 0 {
			f(t)
		}
	}
}

// equalFold compares ASCII case-insensitively without allocating.
func equalFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := 0; i < len(b); i++ {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		d := s[i]
		if 'A' <= d && d <= 'Z' {
			d += 'a' - 'A'
		}
		if c != d {
			return false
		}
	}
	return true
}

func isHopHeader(name []byte) bool {
	for _, h := range hopHeaders {
		if equalFold(name, h) {
			return true
		}
	}
	return false
}

// isTokenChar: RFC 9110 tchar.
func isTokenChar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return c != 0 && strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

// validTarget allows visible ASCII with every '%' starting a two-digit
// hex escape: net/http refuses a target whose escapes do not decode (its
// url.ParseRequestURI checks the path's), so such a request is delegated
// and answered as net/http answers it (400).
func validTarget(t []byte) bool {
	for i := 0; i < len(t); i++ {
		c := t[i]
		if c <= ' ' || c >= 0x7f {
			return false
		}
		if c == '%' {
			if i+2 >= len(t) || !isHex(t[i+1]) || !isHex(t[i+2]) {
				return false
			}
			i += 2
		}
	}
	return true
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// validHost allows what a Host header may hold (reg-name, IP literals,
// port), like net/http; anything else goes to net/http to be refused.
func validHost(h []byte) bool {
	if len(h) == 0 {
		return false
	}
	for _, c := range h {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("-._~!$&'()*+,;=:[]%", c) >= 0:
		default:
			return false
		}
	}
	return true
}
