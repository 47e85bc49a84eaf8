package api

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
)

func TestFrameRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	frames := []struct {
		typ     byte
		payload []byte
	}{
		{FrameData, []byte("hello")},
		{FrameStderr, []byte{}},
		{FrameResize, ResizePayload(24, 80)},
		{FrameExit, ExitPayload(-1)},
		{FrameStdinEOF, nil},
	}
	for _, f := range frames {
		if err := WriteFrame(&buf, f.typ, f.payload); err != nil {
			t.Fatal(err)
		}
	}
	for i, want := range frames {
		typ, p, err := ReadFrame(&buf)
		if err != nil || typ != want.typ || !bytes.Equal(p, want.payload) {
			t.Fatalf("frame %d: %d %q %v, want %d %q", i, typ, p, err, want.typ, want.payload)
		}
	}
	if _, _, err := ReadFrame(&buf); err != io.EOF {
		t.Fatalf("after the last frame: %v, want io.EOF", err)
	}
	rows, cols, err := ParseResize(ResizePayload(24, 80))
	if err != nil || rows != 24 || cols != 80 {
		t.Fatalf("resize: %d %d %v", rows, cols, err)
	}
	for _, code := range []int{0, 7, 137, -1} {
		if got, err := ParseExit(ExitPayload(code)); err != nil || got != code {
			t.Fatalf("exit %d: %d %v", code, got, err)
		}
	}
}

func TestFrameBadInput(t *testing.T) {
	// A stream cut inside a frame is not a clean end.
	var buf bytes.Buffer
	WriteFrame(&buf, FrameData, []byte("hello"))
	if _, _, err := ReadFrame(bytes.NewReader(buf.Bytes()[:7])); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("truncated payload: %v", err)
	}
	if _, _, err := ReadFrame(bytes.NewReader([]byte{0, 0})); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("truncated header: %v", err)
	}
	// A huge claimed length is refused before allocating.
	if _, _, err := ReadFrame(bytes.NewReader([]byte{0, 0xff, 0xff, 0xff, 0xff})); err == nil || !strings.Contains(err.Error(), "limit") {
		t.Fatalf("oversized frame: %v", err)
	}
	if err := WriteFrame(io.Discard, FrameData, make([]byte, MaxFramePayload+1)); err == nil {
		t.Fatal("writing an oversized frame succeeded")
	}
	if _, _, err := ParseResize([]byte{1, 2, 3}); err == nil {
		t.Fatal("a 3-byte resize parsed")
	}
	if _, err := ParseExit(nil); err == nil {
		t.Fatal("an empty exit frame parsed")
	}
}

func TestFrameWriterSplitsLargeWrites(t *testing.T) {
	var buf bytes.Buffer
	w := FrameWriter{Mu: &sync.Mutex{}, W: &buf, Type: FrameStderr}
	data := bytes.Repeat([]byte("x"), MaxFramePayload+10)
	if n, err := w.Write(data); err != nil || n != len(data) {
		t.Fatalf("write: %d %v", n, err)
	}
	var got []byte
	for {
		typ, p, err := ReadFrame(&buf)
		if err == io.EOF {
			break
		}
		if err != nil || typ != FrameStderr {
			t.Fatalf("frame: %d %v", typ, err)
		}
		got = append(got, p...)
	}
	if !bytes.Equal(got, data) {
		t.Fatalf("reassembled %d bytes, want %d", len(got), len(data))
	}
}
