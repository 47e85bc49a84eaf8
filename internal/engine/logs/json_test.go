package logs

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestWriteJSONOneObjectPerLine(t *testing.T) {
	at := time.Date(2026, 1, 2, 15, 4, 5, 0, time.UTC)
	var b strings.Builder
	for _, e := range []Entry{
		{Time: at, Stream: "stdout", Log: "hello\n", Source: "shop-web-api-2"},
		{Time: at, Stream: "stderr", Log: "no newline", Source: "shop-db-1"},
	} {
		if err := WriteJSON(&b, e, "shop"); err != nil {
			t.Fatal(err)
		}
	}
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines: %q", len(lines), b.String())
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"time": "2026-01-02T15:04:05Z", "service": "web-api", "replica": 2.0, "container": "shop-web-api-2", "stream": "stdout", "message": "hello"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
	if len(got) != len(want) {
		t.Errorf("keys %v, want %v", got, want)
	}
	if l := Line(Entry{Log: "x", Source: "shop-db-1"}, "shop"); l.Service != "db" || l.Replica != 1 || l.Message != "x" {
		t.Errorf("Line = %+v", l)
	}
}

func FuzzLine(f *testing.F) {
	f.Add("shop", "shop-web-api-2", "hello\n")
	f.Add("a", "a--1", "\r\n")
	f.Fuzz(func(t *testing.T, stack, source, log string) {
		l := Line(Entry{Source: source, Log: log}, stack)
		if l.Container != source || !strings.HasPrefix(log, l.Message) || len(log)-len(l.Message) > 2 {
			t.Fatalf("Line(%q, %q) = %+v", source, log, l)
		}
		if l.Service != "" && !strings.HasSuffix(source, l.Service+"-"+strconv.Itoa(l.Replica)) {
			t.Fatalf("Line(%q) = service %q replica %d", source, l.Service, l.Replica)
		}
	})
}
