package proxy

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
)

// wsFrames follows the frame boundaries of one direction of a WebSocket
// connection (RFC 6455 §5.2) as its bytes pass through the proxy, without
// holding them: it keeps the header of the frame it is in (at most 14
// bytes) and how much of its payload is still to come. The proxy needs the
// boundaries to put a close frame of its own into the stream without
// tearing a frame of the endpoints' (tunnel.go). The bytes come from
// clients and backends: nothing in them can make it fail other than by
// setting err, after which it knows no boundary any more.
type wsFrames struct {
	hdr  [14]byte // the current frame's header bytes, while it is read
	hn   int      // how many of them have been seen
	left uint64   // payload bytes of the current frame still to come

	sawClose bool  // a close frame (opcode 8) went by: the endpoint is closing
	err      error // the stream is not WebSocket framing
}

// errWSLength: a 64-bit payload length must have its top bit clear
// (RFC 6455 §5.2).
var errWSLength = errors.New("websocket frame length has its most significant bit set")

// atBoundary reports whether the bytes so far end exactly at the end of a
// frame (or are none): a frame written now is not inside another one.
func (f *wsFrames) atBoundary() bool { return f.err == nil && f.hn == 0 && f.left == 0 }

// feed takes in the next bytes of the stream.
func (f *wsFrames) feed(p []byte) {
	for len(p) > 0 && f.err == nil {
		p = p[f.step(p):]
	}
}

// untilBoundary returns how many leading bytes of p finish the current
// frame, taking them in, so that a frame may be written after them: 0 when
// the stream is at a boundary already. ok is false (and all of p is taken
// in) when p ends inside a frame, or the stream is not valid framing.
func (f *wsFrames) untilBoundary(p []byte) (n int, ok bool) {
	if f.atBoundary() {
		return 0, true
	}
	for n < len(p) && f.err == nil {
		n += f.step(p[n:])
		if f.atBoundary() {
			return n, true
		}
	}
	return n, false
}

// step takes in bytes of p up to the end of the current frame, or all of
// p if the frame goes on after it, and returns how many it took (at least
// one when p is not empty and err is nil).
func (f *wsFrames) step(p []byte) int {
	if f.left > 0 {
		n := uint64(len(p))
		if n > f.left {
			n = f.left
		}
		f.left -= n
		return int(n)
	}
	// In a header (hn may be 0: a new frame starts with p[0]).
	taken := 0
	for taken < len(p) {
		f.hdr[f.hn] = p[taken]
		f.hn++
		taken++
		need := wsHeaderLen(f.hdr[:f.hn])
		if f.hn < need {
			continue
		}
		// The header is complete.
		length, ok := wsPayloadLen(f.hdr[:f.hn])
		if !ok {
			f.err = errWSLength
			return taken
		}
		if f.hdr[0]&0x0f == 0x8 {
			f.sawClose = true
		}
		f.hn, f.left = 0, length
		return taken
	}
	return taken
}

// wsHeaderLen is the length of a frame header of which h holds the first
// bytes (at least one): 2 until the second byte says more.
func wsHeaderLen(h []byte) int {
	if len(h) < 2 {
		return 2
	}
	n := 2
	switch h[1] & 0x7f {
	case 126:
		n += 2
	case 127:
		n += 8
	}
	if h[1]&0x80 != 0 {
		n += 4 // masking key
	}
	return n
}

// wsPayloadLen reads the payload length of a complete frame header; false
// when a 64-bit length has its top bit set.
func wsPayloadLen(h []byte) (uint64, bool) {
	switch l := h[1] & 0x7f; l {
	case 126:
		return uint64(binary.BigEndian.Uint16(h[2:4])), true
	case 127:
		n := binary.BigEndian.Uint64(h[2:10])
		return n, n>>63 == 0
	default:
		return uint64(l), true
	}
}

// wsGoingAway is the close status the proxy sends when a connection ends
// because its replica is drained or the proxy stops (RFC 6455 §7.4.1).
const wsGoingAway = 1001

// wsCloseFrame is a close frame with a status code and no reason. A client
// sends masked frames and a server unmasked ones (RFC 6455 §5.1): masked is
// for the frame the proxy sends the backend, as the client it stands for.
func wsCloseFrame(code uint16, masked bool) []byte {
	var payload [2]byte
	binary.BigEndian.PutUint16(payload[:], code)
	if !masked {
		return []byte{0x80 | 0x8, byte(len(payload)), payload[0], payload[1]}
	}
	var key [4]byte
	rand.Read(key[:]) // never fails (crypto/rand)
	f := []byte{0x80 | 0x8, 0x80 | byte(len(payload)), key[0], key[1], key[2], key[3]}
	for i, b := range payload {
		f = append(f, b^key[i%4])
	}
	return f
}
