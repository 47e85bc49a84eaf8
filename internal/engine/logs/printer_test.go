package logs

import (
	"strings"
	"testing"
	"time"
)

func TestPrinter(t *testing.T) {
	e := Entry{Source: "shop-web-1", Log: "hello\n", Stream: "stdout", Time: time.Unix(0, 0)}
	var b strings.Builder
	if err := (Printer{W: &b, Stack: "shop"}).Entry(e); err != nil || b.String() != "shop-web-1   | hello\n" {
		t.Errorf("text: %v %q", err, b.String())
	}
	b.Reset()
	if err := (Printer{W: &b, Stack: "shop", Timestamps: true}).Entry(e); err != nil || b.String() != "shop-web-1   | 1970-01-01T00:00:00Z hello\n" {
		t.Errorf("timestamps: %v %q", err, b.String())
	}
	b.Reset()
	if err := (Printer{W: &b, Stack: "shop", JSON: true}).Entry(e); err != nil || !strings.Contains(b.String(), `"service":"web","replica":1`) {
		t.Errorf("json: %v %q", err, b.String())
	}
}
