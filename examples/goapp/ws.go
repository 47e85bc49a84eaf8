package main

// /ws is a WebSocket (RFC 6455) that first says which version answers,
// then echoes every message: berth's deploy tests hold one open across a
// deploy. The standard library has no WebSocket server, so this is a
// minimal one: no extensions, no subprotocols.

import (
	"bufio"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"io"
	"net/http"
	"strings"
)

// maxWSFrame bounds one frame's payload.
const maxWSFrame = 1 << 20

func serveWS(w http.ResponseWriter, r *http.Request) {
	key := r.Header.Get("Sec-WebSocket-Key")
	if !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") || key == "" || r.Header.Get("Sec-WebSocket-Version") != "13" {
		http.Error(w, "a WebSocket (version 13) upgrade is expected here", http.StatusBadRequest)
		return
	}
	conn, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return
	}
	defer conn.Close()
	sum := sha1.Sum([]byte(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " +
		base64.StdEncoding.EncodeToString(sum[:]) + "\r\n\r\n")
	writeWSFrame(brw.Writer, true, 0x1, []byte("goapp "+version))
	if brw.Flush() != nil {
		return
	}
	for {
		fin, op, payload, err := readWSFrame(brw.Reader)
		if err != nil {
			return
		}
		switch op {
		case 0x8: // close: answer with the same status, then end
			if len(payload) > 2 {
				payload = payload[:2]
			}
			writeWSFrame(brw.Writer, true, 0x8, payload)
			brw.Flush()
			return
		case 0x9: // ping
			writeWSFrame(brw.Writer, true, 0xA, payload)
		case 0xA: // pong
			continue
		default: // text, binary and continuation frames go back as they came
			writeWSFrame(brw.Writer, fin, op, payload)
		}
		if brw.Flush() != nil {
			return
		}
	}
}

// readWSFrame reads one frame from a client (masked, as clients must).
func readWSFrame(r *bufio.Reader) (fin bool, op byte, payload []byte, err error) {
	var h [2]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return false, 0, nil, err
	}
	fin, op = h[0]&0x80 != 0, h[0]&0x0f
	if h[1]&0x80 == 0 {
		return false, 0, nil, errors.New("unmasked frame from a client")
	}
	n := uint64(h[1] & 0x7f)
	switch n {
	case 126:
		var b [2]byte
		_, err = io.ReadFull(r, b[:])
		n = uint64(binary.BigEndian.Uint16(b[:]))
	case 127:
		var b [8]byte
		_, err = io.ReadFull(r, b[:])
		n = binary.BigEndian.Uint64(b[:])
	}
	if err != nil {
		return false, 0, nil, err
	}
	if n > maxWSFrame {
		return false, 0, nil, errors.New("frame too large")
	}
	var mask [4]byte
	if _, err := io.ReadFull(r, mask[:]); err != nil {
		return false, 0, nil, err
	}
	payload = make([]byte, n)
	if _, err := io.ReadFull(r, payload); err != nil {
		return false, 0, nil, err
	}
	for i := range payload {
		payload[i] ^= mask[i%4]
	}
	return fin, op, payload, nil
}

// writeWSFrame writes one unmasked frame (a server's).
func writeWSFrame(w *bufio.Writer, fin bool, op byte, payload []byte) {
	b0 := op
	if fin {
		b0 |= 0x80
	}
	w.WriteByte(b0)
	switch n := len(payload); {
	case n < 126:
		w.WriteByte(byte(n))
	case n <= 0xffff:
		w.WriteByte(126)
		binary.Write(w, binary.BigEndian, uint16(n))
	default:
		w.WriteByte(127)
		binary.Write(w, binary.BigEndian, uint64(n))
	}
	w.Write(payload)
}
