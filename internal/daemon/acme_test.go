package daemon

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestACMEOptionsRefuseBadInput(t *testing.T) {
	dir := t.TempDir()
	garbage := filepath.Join(dir, "roots.pem")
	if err := os.WriteFile(garbage, []byte("not pem"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		o    ACMEOptions
		want string
	}{
		{ACMEOptions{Email: "ops@example.com"}, "need --acme-directory"},
		{ACMEOptions{Directory: "https://acme.example/dir", Email: "ops"}, `email "ops"`},
		{ACMEOptions{Directory: "acme.example/dir"}, "https://"},
		{ACMEOptions{Directory: "https://acme.example/dir", CARootsFile: filepath.Join(dir, "missing.pem")}, "--acme-ca-roots"},
		{ACMEOptions{Directory: "https://acme.example/dir", CARootsFile: dir}, "not a regular file"},
		{ACMEOptions{Directory: "https://acme.example/dir", CARootsFile: garbage}, "caRoots"},
		{ACMEOptions{Directory: "https://acme.example/dir", HTTPPort: 70000}, "httpPort 70000"},
		{ACMEOptions{Directory: "https://acme.example/dir", Challenge: "dns-01"}, `challenge "dns-01"`},
	} {
		if _, err := tc.o.settings(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want %q", tc.o, err, tc.want)
		}
	}
	if a, err := (ACMEOptions{}).settings(); a != nil || err != nil {
		t.Fatalf("no ACME flags: %v %v", a, err)
	}
	a, err := ACMEOptions{Directory: "https://acme.example/dir", Email: "ops@example.com", HTTPPort: 8080}.settings()
	if err != nil || a.Port() != 8080 || a.Email != "ops@example.com" {
		t.Fatalf("good flags: %+v %v", a, err)
	}
}
