package names

import (
	"strings"
	"testing"
)

func TestValidateRepository(t *testing.T) {
	good := []string{"a", "library/busybox", "team/app", "a.b_c__d-e---f", "x/y/z/w", "0", "a1/b2",
		strings.Repeat("a", MaxRepositoryLength)}
	for _, n := range good {
		if err := ValidateRepository(n); err != nil {
			t.Errorf("ValidateRepository(%q) = %v, want nil", n, err)
		}
	}
	bad := []string{"", "..", "../etc", "a/../b", "/abs", "a/", "A", "team/App", "a//b", "a b", "a:b",
		"-a", "a-", "a._b", ".a", "a/.b", "a\x00b", "a\\b", "ü", "a/b/", "_a",
		strings.Repeat("a", MaxRepositoryLength+1)}
	for _, n := range bad {
		if err := ValidateRepository(n); err == nil {
			t.Errorf("ValidateRepository(%q) = nil, want an error", n)
		}
	}
}

func TestValidateTag(t *testing.T) {
	for _, tag := range []string{"latest", "v1.0.0", "_x", "A-b.c_d", strings.Repeat("t", 128)} {
		if err := ValidateTag(tag); err != nil {
			t.Errorf("ValidateTag(%q) = %v", tag, err)
		}
	}
	for _, tag := range []string{"", ".x", "-x", "a/b", "a:b", "a b", strings.Repeat("t", 129), "sha256:abc"} {
		if err := ValidateTag(tag); err == nil {
			t.Errorf("ValidateTag(%q) = nil, want an error", tag)
		}
	}
}

// FuzzValidateRepository checks that no accepted name can leave a directory
// when joined to a path, and that validation never panics.
func FuzzValidateRepository(f *testing.F) {
	for _, s := range []string{"library/busybox", "..", "a/../b", "/x", "a..b", "a/b/c", "A", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		if ValidateRepository(name) != nil {
			return
		}
		if strings.Contains(name, "..") || strings.HasPrefix(name, "/") || strings.HasSuffix(name, "/") ||
			strings.Contains(name, "//") || strings.ContainsAny(name, "\\\x00:") || len(name) > MaxRepositoryLength {
			t.Fatalf("accepted unsafe name %q", name)
		}
		for _, seg := range strings.Split(name, "/") {
			if seg == "" || seg == "." || seg == ".." {
				t.Fatalf("accepted name %q with segment %q", name, seg)
			}
		}
	})
}
