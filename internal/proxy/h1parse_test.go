package proxy

import "testing"

func TestScanHead(t *testing.T) {
	for in, want := range map[string]int{
		"GET / HTTP/1.1\r\nHost: a\r\n\r\nrest": 27,
		"GET / HTTP/1.1\r\nHost: a\r\n":         0,
		"GET / HTTP/1.1\r\nHost: a\n\r\n":       -1, // bare LF
		"GET / HTTP/1.1\nHost: a\r\n\r\n":       -1,
		"\r\nGET / HTTP/1.1\r\n\r\n":            -1, // leading empty line
		"GET / HTT":                             0,
	} {
		if got := scanHead([]byte(in)); got != want {
			t.Errorf("scanHead(%q) = %d, want %d", in, got, want)
		}
	}
}

// Every request whose framing or meaning is not plain goes to net/http.
func TestParseRequestHeadDelegates(t *testing.T) {
	if err := parseRequestHead([]byte("GET /a%20b%2F?c=%41 HTTP/1.1\r\nHost: a\r\n\r\n"), new(reqHead)); err != nil {
		t.Fatalf("valid escapes: %v", err)
	}
	ok := "GET /a?b=1 HTTP/1.1\r\nHost: example.com:80\r\nAccept: */*\r\n\r\n"
	var r reqHead
	if err := parseRequestHead([]byte(ok), &r); err != nil {
		t.Fatalf("plain GET: %v", err)
	}
	if string(r.method) != "GET" || string(r.target) != "/a?b=1" || string(r.host) != "example.com:80" || r.contentLength != -1 || len(r.fields) != 1 {
		t.Fatalf("parsed %+v", r)
	}
	delegated := map[string]string{
		"HTTP/1.0":               "GET / HTTP/1.0\r\nHost: a\r\n\r\n",
		"HTTP/2 preface":         "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
		"absolute-form":          "GET http://a/ HTTP/1.1\r\nHost: a\r\n\r\n",
		"CONNECT":                "CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n",
		"no Host":                "GET / HTTP/1.1\r\nAccept: x\r\n\r\n",
		"two Hosts":              "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
		"bad Host":               "GET / HTTP/1.1\r\nHost: a b\r\n\r\n",
		"CL and TE":              "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
		"TE alone":               "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n",
		"two CLs":                "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\n",
		"CL list":                "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3, 3\r\n\r\n",
		"CL sign":                "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +3\r\n\r\n",
		"CL huge":                "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1234567890123456789012\r\n\r\n",
		"obs-fold":               "GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\r\n  2\r\n\r\n",
		"space before colon":     "GET / HTTP/1.1\r\nHost: a\r\nContent-Length : 3\r\n\r\n",
		"control in value":       "GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\x002\r\n\r\n",
		"Expect":                 "POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n",
		"Upgrade":                "GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
		"Connection names field": "GET / HTTP/1.1\r\nHost: a\r\nConnection: X-Secret\r\n\r\n",
		"space in target":        "GET /a b HTTP/1.1\r\nHost: a\r\n\r\n",
		"lower-case version":     "GET / http/1.1\r\nHost: a\r\n\r\n",
		"double space":           "GET  / HTTP/1.1\r\nHost: a\r\n\r\n",
		"lone percent":           "GET /% HTTP/1.1\r\nHost: a\r\n\r\n",
		"short escape":           "GET /a%4 HTTP/1.1\r\nHost: a\r\n\r\n",
		"non-hex escape":         "GET /a%zz HTTP/1.1\r\nHost: a\r\n\r\n",
		"bad escape in query":    "GET /a?b=%g1 HTTP/1.1\r\nHost: a\r\n\r\n",
	}
	for name, head := range delegated {
		if err := parseRequestHead([]byte(head), &r); err != errDelegate {
			t.Errorf("%s: %v, want delegation", name, err)
		}
	}
}

func TestParseRequestHeadRewritesHeaders(t *testing.T) {
	head := "POST /x HTTP/1.1\r\nhost: a\r\nContent-Length: 12\r\nConnection: keep-alive, close\r\nKeep-Alive: 5\r\n" +
		"X-Forwarded-For: 1.1.1.1\r\nX-Forwarded-For: 2.2.2.2\r\nX-Forwarded-Proto: https\r\nTE: trailers\r\nX-App:  v \r\n\r\n"
	var r reqHead
	if err := parseRequestHead([]byte(head), &r); err != nil {
		t.Fatal(err)
	}
	if r.contentLength != 12 || !r.close || string(r.xff) != "1.1.1.1, 2.2.2.2" {
		t.Fatalf("parsed %+v", r)
	}
	if len(r.fields) != 1 || string(r.fields[0].name) != "X-App" || string(r.fields[0].value) != "v" {
		t.Fatalf("forwarded fields %q", r.fields)
	}
}

func TestParseResponseHead(t *testing.T) {
	var r respHead
	head := "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: X-Hop, keep-alive\r\nX-Hop: 1\r\nKeep-Alive: timeout=5\r\nX-App: a\r\n\r\n"
	if err := parseResponseHead([]byte(head), &r); err != nil {
		t.Fatal(err)
	}
	if r.status != 200 || string(r.statusLine) != "200 OK" || r.contentLength != 5 || r.close || r.chunked {
		t.Fatalf("parsed %+v", r)
	}
	if len(r.fields) != 2 || !r.connListed([]byte("x-hop")) || r.connListed([]byte("X-App")) {
		t.Fatalf("fields %q conn %q", r.fields, r.conn)
	}
	if err := parseResponseHead([]byte("HTTP/1.0 204\nX: y\n\n"), &r); err != nil || r.status != 204 || !r.close {
		t.Fatalf("HTTP/1.0 204: %v %+v", err, r)
	}
	if err := parseResponseHead([]byte("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n"), &r); err != nil || !r.chunked || r.contentLength != -1 || !r.close {
		t.Fatalf("TE and CL: %v %+v", err, r)
	}
	for _, bad := range []string{
		"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
		"HTTP/1.1 20 OK\r\n\r\n",
		"HTTP/2 200 OK\r\n\r\n",
		"HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n",
		"HTTP/1.1 200 OK\r\nX: a\rb\r\n\r\n",
	} {
		if err := parseResponseHead([]byte(bad), &r); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}

func TestParseChunkSize(t *testing.T) {
	for in, want := range map[string]int64{"0": 0, "1a": 26, "FF;name=v": 255, "10 ": 16} {
		if n, ok := parseChunkSize([]byte(in)); !ok || n != want {
			t.Errorf("%q: %d %v", in, n, ok)
		}
	}
	for _, bad := range []string{"", "x", "-1", "1000000000000000", "5;\x01"} {
		if _, ok := parseChunkSize([]byte(bad)); ok {
			t.Errorf("accepted %q", bad)
		}
	}
}
