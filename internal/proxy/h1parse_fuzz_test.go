package proxy

import (
	"bufio"
	"bytes"
	"net/http"
	"strings"
	"testing"

	"golang.org/x/net/http/httpguts"
)

// The fast path is safe only if it never takes a request net/http would
// read differently (or refuse): two parsers that disagree are what request
// smuggling feeds on. These fuzz targets check that differentially: every
// head parseRequestHead accepts must be one net/http's server accepts too,
// with the same method, target, Host, body length and Connection: close.

var requestSeeds = []string{
	"GET / HTTP/1.1\r\nHost: example.com\r\n\r\n",
	"POST /upload?x=1 HTTP/1.1\r\nHost: a:8080\r\nContent-Length: 5\r\nConnection: close\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: 10.0.0.1\r\nConnection: keep-alive, X-Drop\r\nX-Drop: 1\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n",
	"GET http://a/ HTTP/1.1\r\nHost: a\r\n\r\n",
	"GET / HTTP/1.0\r\nHost: a\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: a b\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: +5\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: [::1]:80\r\nExpect: 100-continue\r\n\r\n",
}

func FuzzParseRequestHead(f *testing.F) {
	for _, s := range requestSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		n := scanHead(data)
		if n <= 0 {
			return
		}
		head := data[:n]
		var r reqHead
		if err := parseRequestHead(head, &r); err != nil {
			return
		}
		req, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(head)))
		if err != nil {
			t.Fatalf("fast path took %q, net/http refuses it: %v", head, err)
		}
		// What net/http's server checks on top of ReadRequest.
		if hosts := req.Header["Host"]; len(hosts) > 1 {
			t.Fatalf("fast path took %q with %d Host headers", head, len(hosts))
		}
		if !httpguts.ValidHostHeader(req.Host) {
			t.Fatalf("fast path took %q, Host %q is invalid", head, req.Host)
		}
		for name, values := range req.Header {
			if !httpguts.ValidHeaderFieldName(name) {
				t.Fatalf("fast path took %q, header name %q is invalid", head, name)
			}
			for _, v := range values {
				if !httpguts.ValidHeaderFieldValue(v) {
					t.Fatalf("fast path took %q, header %s value %q is invalid", head, name, v)
				}
			}
		}
		if got, want := string(r.method), req.Method; got != want {
			t.Fatalf("%q: method %q, net/http %q", head, got, want)
		}
		if got, want := string(r.target), req.RequestURI; got != want {
			t.Fatalf("%q: target %q, net/http %q", head, got, want)
		}
		if got, want := string(r.host), req.Host; got != want {
			t.Fatalf("%q: host %q, net/http %q", head, got, want)
		}
		if len(req.TransferEncoding) > 0 {
			t.Fatalf("%q: fast path took a Transfer-Encoding %v", head, req.TransferEncoding)
		}
		wantLen := req.ContentLength // 0 when there is no Content-Length
		gotLen := r.contentLength
		if gotLen < 0 {
			gotLen = 0
		}
		if gotLen != wantLen {
			t.Fatalf("%q: body length %d, net/http %d", head, gotLen, wantLen)
		}
		if r.close != req.Close {
			t.Fatalf("%q: close %v, net/http %v", head, r.close, req.Close)
		}
		for _, fl := range r.fields {
			if isHopHeader(fl.name) || equalFold(fl.name, "host") || equalFold(fl.name, "content-length") {
				t.Fatalf("%q: forwards %q", head, fl.name)
			}
		}
	})
}

var responseSeeds = []string{
	"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n",
	"HTTP/1.1 204 No Content\r\n\r\n",
	"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
	"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n",
	"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n",
	"HTTP/1.1 200\nContent-Length: 1\n\n",
	"HTTP/1.1 99 Odd\r\n\r\n",
	"HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
}

func FuzzParseResponseHead(f *testing.F) {
	for _, s := range responseSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		end := bytes.Index(data, []byte("\n\n"))
		if e := bytes.Index(data, []byte("\r\n\r\n")); e >= 0 && (end < 0 || e < end) {
			end = e + 2
		}
		if end < 0 {
			return
		}
		head := data[:end+2]
		var r respHead
		if err := parseResponseHead(head, &r); err != nil {
			return
		}
		resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(head)), &http.Request{Method: "GET"})
		if err != nil {
			t.Fatalf("proxy took response %q, net/http refuses it: %v", head, err)
		}
		if r.status != resp.StatusCode {
			t.Fatalf("%q: status %d, net/http %d", head, r.status, resp.StatusCode)
		}
		if r.chunked && r.contentLength >= 0 {
			t.Fatalf("%q: both chunked and Content-Length %d", head, r.contentLength)
		}
		// The parser reports the headers as sent; the forwarder (h1forward.go)
		// gives 1xx, 204 and 304 answers no body, as net/http does.
		bodyless := r.status < 200 || r.status == http.StatusNoContent || r.status == http.StatusNotModified
		if !bodyless && r.chunked != (len(resp.TransferEncoding) > 0 && strings.EqualFold(resp.TransferEncoding[0], "chunked")) {
			t.Fatalf("%q: chunked %v, net/http %v", head, r.chunked, resp.TransferEncoding)
		}
		if !bodyless && r.contentLength >= 0 && resp.ContentLength >= 0 && r.contentLength != resp.ContentLength {
			t.Fatalf("%q: length %d, net/http %d", head, r.contentLength, resp.ContentLength)
		}
	})
}
