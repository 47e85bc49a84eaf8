package benchkit

import (
	"context"
	"strings"
	"testing"
)

func TestVersionLine(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		script, want string
	}{
		{"echo v1.2; echo more", "v1.2"},
		{"echo nginx/1.22 >&2; exit 1", "nginx/1.22"},
		{"echo $BENCHKIT_TEST_V", "from env"},
		{"true", ""},
	} {
		if got := VersionLine(ctx, []string{"BENCHKIT_TEST_V=from env"}, "sh", "-c", tc.script); got != tc.want {
			t.Errorf("VersionLine(%q) = %q, want %q", tc.script, got, tc.want)
		}
	}
	if got := VersionLine(ctx, nil, "/nonexistent/tool", "-v"); got != "" {
		t.Errorf("missing tool: %q", got)
	}
}

func TestHostString(t *testing.T) {
	h := Host{CPU: "Xeon", CPUs: 2, Kernel: "Linux 6.1", GoVersion: "go1.26"}
	if got := h.String(); got != "Xeon, 2 CPUs, Linux 6.1, go1.26" {
		t.Errorf("Host.String = %q", got)
	}
	if r := ReadHost(); r.CPUs < 1 || !strings.HasPrefix(r.GoVersion, "go") || r.Date == "" {
		t.Errorf("ReadHost = %+v", r)
	}
}
