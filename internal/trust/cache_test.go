package trust_test

import (
	"errors"
	"path/filepath"
	"testing"

	"github.com/berth-dev/berth/internal/trust"
)

func TestCachePaths(t *testing.T) {
	c := trust.Cache{Dir: "/c"}
	if p, err := c.VulnDB(""); err != nil || p != filepath.Join("/c", "vulndb.db") {
		t.Errorf("VulnDB(\"\") = %q, %v", p, err)
	}
	if p, _ := c.VulnDB("my.db"); p != "my.db" {
		t.Errorf("VulnDB(my.db) = %q", p)
	}
	if d := c.SBOMDir(); d != filepath.Join("/c", "sbom") {
		t.Errorf("SBOMDir = %q", d)
	}
	if s := c.PolicyScanner(true); s.DB != filepath.Join("/c", "vulndb.db") || s.SBOMCache != filepath.Join("/c", "sbom") || !s.Image.Insecure {
		t.Errorf("PolicyScanner = %+v", s)
	}

	ports := c.PolicyPorts(true)
	if s, ok := ports.Scanner.(trust.Scanner); !ok || s.DB != filepath.Join("/c", "vulndb.db") || !s.Image.Insecure {
		t.Errorf("PolicyPorts scanner = %#v", ports.Scanner)
	}
	if v, ok := ports.Verifier.(trust.Verifier); !ok || !v.Options.Insecure {
		t.Errorf("PolicyPorts verifier = %#v", ports.Verifier)
	}
	if e, ok := ports.Evidence.(trust.RegistryEvidence); !ok || !e.Insecure {
		t.Errorf("PolicyPorts evidence = %#v", ports.Evidence)
	}

	none := trust.Cache{Err: errors.New("no cache directory")}
	if _, err := none.VulnDB(""); err == nil {
		t.Error("VulnDB without a cache directory: no error")
	}
	if p, err := none.VulnDB("my.db"); err != nil || p != "my.db" {
		t.Errorf("VulnDB(my.db) without a cache directory = %q, %v", p, err)
	}
	if s := none.PolicyScanner(false); s.DB != "" || s.SBOMCache != "" {
		t.Errorf("PolicyScanner without a cache directory = %+v", s)
	}
}
