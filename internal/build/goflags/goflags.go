// Package goflags validates what a berth.yaml may pass to the go command.
// berth.yaml can come from an untrusted pull request, and the go toolchain
// has many flags that read or write arbitrary host paths (the linker's -o,
// -cpuprofile, -memprofile, -extld, -importcfg; go build's -overlay,
// -modfile, -pgo, -toolexec, -C): every value is checked against a short
// allowlist of what building an image needs, instead of a blocklist of
// what is known to be dangerous.
package goflags

import (
	"fmt"
	"path"
	"strings"
)

// SplitLdflags splits an -ldflags value into the arguments the go command
// hands the linker. It follows cmd/internal/quoted.Split: fields separated
// by spaces, tabs or newlines, a field wholly in '...' or "..." kept as is
// (no escapes).
func SplitLdflags(s string) ([]string, error) {
	var f []string
	for len(s) > 0 {
		for len(s) > 0 && isSpace(s[0]) {
			s = s[1:]
		}
		if len(s) == 0 {
			break
		}
		if q := s[0]; q == '"' || q == '\'' {
			s = s[1:]
			i := strings.IndexByte(s, q)
			if i < 0 {
				return nil, fmt.Errorf("unterminated %c string", q)
			}
			f = append(f, s[:i])
			s = s[i+1:]
			continue
		}
		i := 0
		for i < len(s) && !isSpace(s[i]) {
			i++
		}
		f = append(f, s[:i])
		s = s[i:]
	}
	return f, nil
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// ValidateLdflags accepts only the linker flags an image build needs: -s,
// -w, -X importpath.name=value (also -X=importpath.name=value) and an empty
// -buildid=. Anything else is refused with an error naming the flag: other
// linker flags write files (-o, -cpuprofile, -memprofile, -tmpdir), read
// them (-importcfg, -L, -r) or run programs (-extld with -linkmode=external).
func ValidateLdflags(s string) error {
	if strings.ContainsRune(s, 0) {
		return fmt.Errorf("contains a NUL byte")
	}
	t := strings.TrimLeft(s, " \t\n\r")
	if t == "" {
		return nil
	}
	// The go command reads "-ldflags=PATTERN=FLAGS" when the value does
	// not start with '-': that would apply FLAGS unchecked.
	if t[0] != '-' {
		return fmt.Errorf("%q: must start with a flag such as -s, -w or -X (package patterns are not accepted)", s)
	}
	args, err := SplitLdflags(t)
	if err != nil {
		return fmt.Errorf("%q: %v", s, err)
	}
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "-s" || a == "-w" || a == "-buildid=":
		case a == "-X":
			if i+1 >= len(args) {
				return fmt.Errorf("flag -X needs an argument importpath.name=value")
			}
			i++
			if err := checkX(args[i]); err != nil {
				return err
			}
		case strings.HasPrefix(a, "-X="):
			if err := checkX(strings.TrimPrefix(a, "-X=")); err != nil {
				return err
			}
		default:
			name, _, _ := strings.Cut(a, "=")
			return fmt.Errorf("linker flag %q is not allowed: only -s, -w, -X importpath.name=value and -buildid= are (other flags can read or write files on the build host)", name)
		}
	}
	return nil
}

// checkX validates the argument of -X: importpath.name=value, where the
// name part cannot pass for a flag.
func checkX(kv string) error {
	k, _, ok := strings.Cut(kv, "=")
	if !ok || k == "" || strings.HasPrefix(k, "-") || !strings.Contains(k, ".") {
		return fmt.Errorf("flag -X %q: want importpath.name=value", kv)
	}
	return nil
}

// CheckTag validates one build tag: Go build tags are made of letters,
// digits, '_' and '.'.
func CheckTag(tag string) error {
	if tag == "" {
		return fmt.Errorf("build tag must not be empty")
	}
	for _, c := range tag {
		if !(c == '_' || c == '.' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return fmt.Errorf("invalid build tag %q: letters, digits, '_' and '.' only", tag)
		}
	}
	return nil
}

// CheckPackage validates the main package handed to go build: a path
// relative to the module directory ("." or "./cmd/web", or a .go file) or an
// import path ("example.com/app/cmd/web"), never an absolute path, a path
// with "..", a flag, a pattern ("...") or a version ("@v1").
func CheckPackage(pkg string) error {
	switch {
	case strings.TrimSpace(pkg) == "":
		return fmt.Errorf("package must not be empty")
	case strings.ContainsAny(pkg, "\x00\n\r\t "):
		return fmt.Errorf("package %q must not contain spaces or control characters", pkg)
	case strings.HasPrefix(pkg, "-"):
		return fmt.Errorf("package %q looks like a flag", pkg)
	case strings.HasPrefix(pkg, "/") || strings.HasPrefix(pkg, "\\"):
		return fmt.Errorf("package %q must be relative to the module directory (e.g. ./cmd/web)", pkg)
	case strings.Contains(pkg, "..."):
		return fmt.Errorf("package %q: patterns are not accepted; name one main package", pkg)
	case strings.Contains(pkg, "@"):
		return fmt.Errorf("package %q: versions are not accepted; the module's go.mod pins them", pkg)
	}
	for _, el := range strings.Split(pkg, "/") {
		if el == ".." {
			return fmt.Errorf("package %q must not contain \"..\" (it would build from outside the context)", pkg)
		}
	}
	return nil
}

// IsLocalPackage reports whether pkg (already checked) names a directory or
// file relative to the module directory rather than an import path.
func IsLocalPackage(pkg string) bool {
	return pkg == "." || strings.HasPrefix(pkg, "./") || strings.HasSuffix(pkg, ".go")
}

// LocalPackagePath is pkg as a cleaned slash path relative to the module
// directory (only meaningful when IsLocalPackage).
func LocalPackagePath(pkg string) string { return path.Clean(pkg) }
