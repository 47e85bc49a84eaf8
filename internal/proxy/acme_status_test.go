package proxy

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestWriteCertTable(t *testing.T) {
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	var b strings.Builder
	err := WriteCertTable(&b, []CertStatus{
		{Host: "a.example.com", NotAfter: now.Add(89*24*time.Hour + time.Hour), RenewAt: now.Add(59 * 24 * time.Hour)},
		{Host: "b.example.com"},
		{Host: "c.example.com", NotAfter: now.Add(time.Hour), RenewAt: now.Add(-time.Hour), Failures: 3, LastError: "connection refused", NextAttempt: now.Add(4 * time.Minute)},
	}, now)
	if err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"CERTIFICATE", "a.example.com   2027-03-06 13:00 (89 days)", " ok\n", "b.example.com   -", "pending", "(< 1 day)", "failing (3, next try 12:04:00): connection refused"} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in\n%s", want, out)
		}
	}
}

// TestWriteCertSection: the table after a blank line when there are
// certificates; nothing without any, or when the daemon cannot list them.
func TestWriteCertSection(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var b strings.Builder
	list := func() ([]CertStatus, error) { return []CertStatus{{Host: "shop.example"}}, nil }
	if err := WriteCertSection(&b, list, now); err != nil || !strings.HasPrefix(b.String(), "\nCERTIFICATE") || !strings.Contains(b.String(), "shop.example") {
		t.Errorf("with one: %v, %q", err, b.String())
	}
	for _, list := range []func() ([]CertStatus, error){
		func() ([]CertStatus, error) { return nil, nil },
		func() ([]CertStatus, error) { return nil, errors.New("404 page not found") },
	} {
		b.Reset()
		if err := WriteCertSection(&b, list, now); err != nil || b.Len() != 0 {
			t.Errorf("none or an error: %v, wrote %q", err, b.String())
		}
	}
}
