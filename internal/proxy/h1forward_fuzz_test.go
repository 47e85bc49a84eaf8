package proxy

import (
	"bufio"
	"bytes"
	"io"
	"net/http/httputil"
	"strings"
	"testing"
)

// pumpChunked re-frames a backend's chunked body for the client. Whatever
// it passes on must be well-framed chunked encoding (a client must never
// see a body framed other than the backend's), carrying the same data as
// the backend's body where net/http can read that too.
func FuzzPumpChunked(f *testing.F) {
	for _, s := range []string{
		"5\r\nhello\r\n0\r\n\r\n",
		"5;ext=1\r\nhello\r\n0\r\nX-Trailer: 1\r\n\r\n",
		"a\r\n0123456789\r\n3\r\nabc\r\n0\r\n\r\n",
		"0\r\n\r\n",
		"5\nhello\n0\n\n",
		"5\r\nhel",
		"-1\r\n\r\n",
		"ffffffffffffffff\r\n",
		"0\r\nBad Trailer\r\n\r\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		var out bytes.Buffer
		w := bufio.NewWriter(&out)
		err := pumpChunked(w, bufio.NewReader(strings.NewReader(in)))
		if writeErr(err) != nil {
			t.Fatalf("write error from a bytes.Buffer: %v", err)
		}
		if err != nil {
			return
		}
		w.Flush()
		got, err := io.ReadAll(httputil.NewChunkedReader(bytes.NewReader(out.Bytes())))
		if err != nil {
			t.Fatalf("accepted %q, passed on badly framed %q: %v", in, out.Bytes(), err)
		}
		if want, err := io.ReadAll(httputil.NewChunkedReader(strings.NewReader(in))); err == nil && !bytes.Equal(got, want) {
			t.Fatalf("%q: passed on data %q, net/http reads %q", in, got, want)
		}
	})
}
