package proxy

import (
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
