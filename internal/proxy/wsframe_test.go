package proxy

import (
	"bytes"
	"encoding/binary"
	"testing"
)

// wsFrame builds one frame: FIN set, opcode op, payload masked with key
// when key is not nil. The length takes the shortest of the three forms.
func wsFrame(op byte, payload []byte, key []byte) []byte {
	f := []byte{0x80 | op}
	mask := byte(0)
	if key != nil {
		mask = 0x80
	}
	switch n := len(payload); {
	case n < 126:
		f = append(f, mask|byte(n))
	case n <= 0xffff:
		f = append(f, mask|126)
		f = binary.BigEndian.AppendUint16(f, uint16(n))
	default:
		f = append(f, mask|127)
		f = binary.BigEndian.AppendUint64(f, uint64(n))
	}
	if key == nil {
		return append(f, payload...)
	}
	f = append(f, key...)
	for i, b := range payload {
		f = append(f, b^key[i%4])
	}
	return f
}

// refFrameEnds parses a whole stream the simple way and returns where
// each complete frame ends, and whether the stream is invalid (a 64-bit
// length with its top bit set) at the point parsing stopped.
func refFrameEnds(data []byte) (ends []int, invalid bool) {
	i := 0
	for i+2 <= len(data) {
		h := 2
		switch data[i+1] & 0x7f {
		case 126:
			h += 2
		case 127:
			h += 8
		}
		if data[i+1]&0x80 != 0 {
			h += 4
		}
		if i+h > len(data) {
			return ends, false // the header is not all there
		}
		l := uint64(data[i+1] & 0x7f)
		switch l {
		case 126:
			l = uint64(binary.BigEndian.Uint16(data[i+2:]))
		case 127:
			l = binary.BigEndian.Uint64(data[i+2:])
			if l>>63 != 0 {
				return ends, true
			}
		}
		if uint64(len(data)-i-h) < l {
			return ends, false
		}
		i += h + int(l)
		ends = append(ends, i)
	}
	return ends, false
}

// A stream of frames of every length form, masked and not, split every
// way: the tracker is at a boundary exactly where a frame ends.
func TestWSFramesBoundaries(t *testing.T) {
	key := []byte{1, 2, 3, 4}
	var stream []byte
	for _, n := range []int{0, 1, 125, 126, 127, 300, 0xffff, 0x10000, 70000} {
		stream = append(stream, wsFrame(0x2, bytes.Repeat([]byte{'x'}, n), nil)...)
		stream = append(stream, wsFrame(0x1, bytes.Repeat([]byte{'y'}, n%200), key)...)
	}
	stream = append(stream, wsFrame(0x9, []byte("ping"), key)...)
	ends, invalid := refFrameEnds(stream)
	if invalid || ends[len(ends)-1] != len(stream) {
		t.Fatalf("test stream does not parse: %v %v", ends, invalid)
	}
	isEnd := map[int]bool{}
	for _, e := range ends {
		isEnd[e] = true
	}
	// Byte by byte.
	var f wsFrames
	for i := range stream {
		f.feed(stream[i : i+1])
		if f.atBoundary() != isEnd[i+1] {
			t.Fatalf("after byte %d: atBoundary %v, want %v", i+1, f.atBoundary(), isEnd[i+1])
		}
	}
	// In chunks of several sizes, finding each boundary with untilBoundary.
	for _, size := range []int{1, 3, 7, 100, 4096, 32 << 10, len(stream)} {
		var f wsFrames
		var found []int
		pos := 0
		for pos < len(stream) {
			end := min(pos+size, len(stream))
			chunk := stream[pos:end]
			for len(chunk) > 0 {
				n, ok := f.untilBoundary(chunk)
				if !ok {
					pos += len(chunk)
					break
				}
				if n == 0 { // at a boundary before the chunk: take one frame's start
					f.feed(chunk[:1])
					pos++
					chunk = chunk[1:]
					if f.atBoundary() { // cannot happen: a frame is at least 2 bytes
						t.Fatalf("boundary after a single byte at %d", pos)
					}
					continue
				}
				pos += n
				chunk = chunk[n:]
				found = append(found, pos)
			}
		}
		if len(found) != len(ends) {
			t.Fatalf("chunks of %d: %d boundaries found, want %d", size, len(found), len(ends))
		}
		for i := range ends {
			if found[i] != ends[i] {
				t.Fatalf("chunks of %d: boundary %d at %d, want %d", size, i, found[i], ends[i])
			}
		}
	}
}

func TestWSFramesCloseAndInvalid(t *testing.T) {
	var f wsFrames
	f.feed(wsFrame(0x1, []byte("hi"), nil))
	if f.sawClose {
		t.Fatal("a text frame counted as close")
	}
	f.feed(wsFrame(0x8, []byte{0x03, 0xe8}, []byte{9, 9, 9, 9}))
	if !f.sawClose || !f.atBoundary() {
		t.Fatalf("after a close frame: sawClose %v atBoundary %v", f.sawClose, f.atBoundary())
	}

	var g wsFrames
	bad := []byte{0x82, 127, 0x80, 0, 0, 0, 0, 0, 0, 1, 'x'}
	g.feed(bad[:1])
	n, ok := g.untilBoundary(bad[1:])
	if ok || g.err == nil || g.atBoundary() {
		t.Fatalf("top bit of a 64-bit length: n %d ok %v err %v", n, ok, g.err)
	}
	g.feed([]byte{0x81, 0}) // no way back once lost
	if g.atBoundary() {
		t.Fatal("boundary after an invalid frame")
	}
}

// The close frames the proxy writes are what RFC 6455 §5.5.1 asks: FIN,
// opcode 8, the status code as payload, masked only towards the backend.
func TestWSCloseFrame(t *testing.T) {
	if got, want := wsCloseFrame(1001, false), []byte{0x88, 0x02, 0x03, 0xe9}; !bytes.Equal(got, want) {
		t.Fatalf("unmasked close frame % x, want % x", got, want)
	}
	m := wsCloseFrame(1001, true)
	if len(m) != 8 || m[0] != 0x88 || m[1] != 0x82 {
		t.Fatalf("masked close frame % x", m)
	}
	code := binary.BigEndian.Uint16([]byte{m[6] ^ m[2], m[7] ^ m[3]})
	if code != 1001 {
		t.Fatalf("masked close frame carries %d", code)
	}
	var f wsFrames
	f.feed(m)
	if !f.atBoundary() || !f.sawClose {
		t.Fatal("the tracker does not take the proxy's own close frame as one frame")
	}
}
