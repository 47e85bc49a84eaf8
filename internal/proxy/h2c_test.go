package proxy

import (
	"testing"
	"time"
)

func TestParseGRPCTimeout(t *testing.T) {
	for _, c := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"1S", time.Second, true},
		{"300m", 300 * time.Millisecond, true},
		{"99999999u", 99999999 * time.Microsecond, true},
		{"2H", 2 * time.Hour, true},
		{"5M", 5 * time.Minute, true},
		{"7n", 7, true},
		{"99999999H", 0, false}, // past time.Duration
		{"", 0, false},
		{"S", 0, false},
		{"100", 0, false},
		{"1s", 0, false},
		{"-1S", 0, false},
		{"123456789S", 0, false}, // 9 digits
	} {
		got, ok := parseGRPCTimeout(c.in)
		if got != c.want || ok != c.ok {
			t.Errorf("parseGRPCTimeout(%q) = %v %v, want %v %v", c.in, got, ok, c.want, c.ok)
		}
	}
}

func FuzzParseGRPCTimeout(f *testing.F) {
	for _, s := range []string{"1S", "300m", "99999999H", "", "x", "12345678n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, ok := parseGRPCTimeout(s)
		if !ok && d != 0 {
			t.Fatalf("%q: %v without ok", s, d)
		}
		if d < 0 {
			t.Fatalf("%q: negative %v", s, d)
		}
	})
}
