package proxy

import (
	"bytes"
	"testing"
)

// The frame tracker reads untrusted bytes from both ends of a WebSocket.
// Whatever they are, it must not panic, and split in any two chunk sizes it
// must find the boundaries a whole-buffer parse finds, and no others.
func FuzzWSFrames(f *testing.F) {
	key := []byte{1, 2, 3, 4}
	f.Add(wsFrame(0x1, []byte("hello"), nil), uint8(1))
	f.Add(append(wsFrame(0x2, bytes.Repeat([]byte{'a'}, 300), key), wsFrame(0x8, []byte{3, 0xe9}, nil)...), uint8(7))
	f.Add(wsFrame(0x2, bytes.Repeat([]byte{'b'}, 70000), nil)[:200], uint8(3))
	f.Add([]byte{0x82, 127, 0x80, 0, 0, 0, 0, 0, 0, 1}, uint8(2))
	f.Add([]byte{0x81}, uint8(1))
	f.Fuzz(func(t *testing.T, data []byte, size uint8) {
		ends, invalid := refFrameEnds(data)
		isEnd := map[int]bool{}
		for _, e := range ends {
			isEnd[e] = true
		}
		var one wsFrames
		for i := range data {
			one.feed(data[i : i+1])
			if one.atBoundary() != isEnd[i+1] {
				t.Fatalf("after byte %d: atBoundary %v, reference says %v", i+1, one.atBoundary(), isEnd[i+1])
			}
		}
		if invalid != (one.err != nil) {
			t.Fatalf("invalid: reference %v, tracker %v", invalid, one.err)
		}
		step := int(size)%64 + 1
		var f wsFrames
		pos := 0
		var found []int
		for pos < len(data) {
			chunk := data[pos:min(pos+step, len(data))]
			n, ok := f.untilBoundary(chunk)
			switch {
			case !ok:
				pos += len(chunk)
			case n == 0:
				f.feed(chunk[:1])
				pos++
			default:
				pos += n
				found = append(found, pos)
			}
		}
		if len(data) > 0 && len(found) != len(ends) {
			t.Fatalf("chunks of %d: boundaries %v, reference %v", step, found, ends)
		}
		for i := range found {
			if found[i] != ends[i] {
				t.Fatalf("chunks of %d: boundaries %v, reference %v", step, found, ends)
			}
		}
	})
}
