package proxy

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
)

// forwardUpgrade forwards a protocol switch (WebSocket): it sends the
// request on a connection of its own to the backend, and when the backend
// answers 101 it hands the client and backend connections to a tunnel
// (tunnel.go), which copies bytes both ways until one side ends, the
// backend's drain times out or the proxy stops. Any other answer is passed
// on as is. No retries: an upgrade is rare and usually not idempotent.
func (l *listener) forwardUpgrade(w http.ResponseWriter, r *http.Request, st *listenerState, rt *route) int {
	b, _ := rt.pick(0)
	if b == nil || !b.acquire() {
		http.Error(w, "no ready backend for "+rt.cfg.Service, http.StatusServiceUnavailable)
		return http.StatusServiceUnavailable
	}
	defer b.release()
	ctx := r.Context()
	fail := func(err error) int {
		if ctx.Err() != nil {
			return 499 // the client left: not the backend's failure
		}
		b.markFailed()
		l.p.log.Debug("proxy upgrade", "service", rt.cfg.Service, "backend", b.id, "err", err)
		http.Error(w, "bad gateway: "+rt.cfg.Service, http.StatusBadGateway)
		return http.StatusBadGateway
	}

	conn, err := b.dial(ctx, "", "")
	if err != nil {
		return fail(err)
	}
	// Until the tunnel owns it, the backend connection ends with the
	// request (the client left) or with this function.
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	owned := false
	defer func() {
		if !owned {
			stop()
			conn.Close()
		}
	}()

	out := r.Clone(ctx)
	out.URL.Scheme, out.URL.Host = "http", *b.addr.Load()
	out.RequestURI = ""
	out.Close = false
	if r.ContentLength == 0 {
		out.Body = nil
	}
	if _, ok := out.Header["User-Agent"]; !ok {
		out.Header["User-Agent"] = []string{""} // not Go's default
	}
	bw := bufio.NewWriterSize(conn, 4<<10)
	if err := out.Write(bw); err != nil {
		return fail(err)
	}
	if err := bw.Flush(); err != nil {
		return fail(err)
	}
	br := bufio.NewReaderSize(conn, 4<<10) // the response head; the tunnel reads conn itself
	var resp *http.Response
	for {
		resp, err = http.ReadResponse(br, out)
		if err != nil {
			return fail(err)
		}
		// 100 Continue, 103 Early Hints: the final answer follows.
		if resp.StatusCode >= 200 || resp.StatusCode == http.StatusSwitchingProtocols {
			break
		}
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		return passResponse(w, resp)
	}
	want, got := out.Header.Get("Upgrade"), resp.Header.Get("Upgrade")
	if !strings.EqualFold(want, got) {
		return fail(fmt.Errorf("backend switched to protocol %q when %q was asked for", got, want))
	}
	client, cbr, err := http.NewResponseController(w).Hijack()
	if err != nil {
		// Not the backend's failure: this client connection (HTTP/2)
		// cannot switch protocols.
		l.p.log.Debug("proxy upgrade", "service", rt.cfg.Service, "err", err)
		http.Error(w, "cannot switch protocols on this connection", http.StatusBadGateway)
		return http.StatusBadGateway
	}
	if !stop() {
		client.Close() // the client left as the backend answered
		return 499
	}
	owned = true
	resp.Body = nil // only the head: the rest of br is the new protocol's
	if err := resp.Write(cbr); err == nil {
		err = cbr.Flush()
	}
	if err != nil {
		client.Close()
		conn.Close()
		return 499
	}
	t := newTunnel(b, client, readerWithBuffered(client, cbr.Reader), conn, readerWithBuffered(conn, br), strings.EqualFold(got, "websocket"))
	t.run()
	return http.StatusSwitchingProtocols
}

// readerWithBuffered reads what a bufio.Reader over c holds, then c.
func readerWithBuffered(c net.Conn, br *bufio.Reader) io.Reader {
	n := br.Buffered()
	if n == 0 {
		return c
	}
	held, _ := br.Peek(n)
	return io.MultiReader(bytes.NewReader(bytes.Clone(held)), c)
}

// passResponse sends the backend's answer other than 101 (a refused
// upgrade) to the client, hop-by-hop headers left out.
func passResponse(w http.ResponseWriter, resp *http.Response) int {
	defer resp.Body.Close()
	h := w.Header()
	for k, v := range resp.Header {
		h[k] = v
	}
	for _, v := range resp.Header["Connection"] {
		for _, name := range strings.Split(v, ",") {
			h.Del(strings.TrimSpace(name))
		}
	}
	for _, k := range hopHeaders {
		delete(h, k)
	}
	w.WriteHeader(resp.StatusCode)
	if _, err := io.Copy(w, resp.Body); err != nil {
		panic(http.ErrAbortHandler) // the answer is torn: break the connection
	}
	return resp.StatusCode
}
