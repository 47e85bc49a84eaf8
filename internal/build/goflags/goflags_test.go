package goflags

import (
	"strings"
	"testing"
)

func TestValidateLdflagsAccepts(t *testing.T) {
	for _, s := range []string{
		"", "  ", "-s", "-s -w", "-w -s -buildid=",
		"-X main.version=1.2.3", "-X=main.version=1.2.3", "-s -w -X main.v=1 -X 'main.msg=hello world'",
		`-X "example.com/app/internal/build.Commit=abc def"`, "-X main.empty=",
	} {
		if err := ValidateLdflags(s); err != nil {
			t.Errorf("ValidateLdflags(%q) = %v, want nil", s, err)
		}
	}
}

// TestValidateLdflagsRefuses holds the escapes of the hardening issue: linker
// flags that write (-o, -cpuprofile, -memprofile) or read files or run
// programs on the build host, and go build flags smuggled in.
func TestValidateLdflagsRefuses(t *testing.T) {
	for s, flag := range map[string]string{
		"-o /tmp/pwned":                  "-o",
		"-s -w -o=/tmp/pwned":            "-o",
		"-cpuprofile /tmp/cpu":           "-cpuprofile",
		"-memprofile=/tmp/mem":           "-memprofile",
		"-toolexec /bin/sh":              "-toolexec",
		"-linkmode=external -extld=/x":   "-linkmode",
		"-extldflags -Wl,-o,/tmp/x":      "-extldflags",
		"-importcfg /etc/passwd":         "-importcfg",
		"-X main.v=1 -tmpdir /tmp/x":     "-tmpdir",
		"--o /tmp/x":                     "--o",
		"-buildid=abc":                   "-buildid",
		"'-o' /tmp/x":                    "",
		"main=-o /tmp/x":                 "",
		"-X -o":                          "",
		"-X":                             "",
		"-X novalue":                     "",
		"-s 'unterminated":               "",
		"-X main.v=1 -r /tmp/lib":        "-r",
		"-s\t-memprofilerate=1":          "-memprofilerate",
		"-s\n-cpuprofile\n/tmp/newline":  "-cpuprofile",
		"-s \x00":                        "",
		"-dumpdep":                       "-dumpdep",
		"-s \"-cpuprofile=/tmp/quoted\"": "-cpuprofile",
	} {
		err := ValidateLdflags(s)
		if err == nil {
			t.Errorf("ValidateLdflags(%q) = nil, want an error", s)
			continue
		}
		if flag != "" && !strings.Contains(err.Error(), `"`+flag+`"`) {
			t.Errorf("ValidateLdflags(%q) = %v, want it to name %q", s, err, flag)
		}
	}
}

func TestSplitLdflagsMatchesGo(t *testing.T) {
	got, err := SplitLdflags(` -X 'main.a=b c'  "-w"	-s`)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"-X", "main.a=b c", "-w", "-s"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func TestCheckPackage(t *testing.T) {
	for _, ok := range []string{".", "./cmd/web", "main.go", "example.com/app/cmd/web", "./cmd/./web"} {
		if err := CheckPackage(ok); err != nil {
			t.Errorf("CheckPackage(%q) = %v", ok, err)
		}
	}
	for _, bad := range []string{"", "/etc", "../other", "./a/../../b", "-toolexec=/bin/sh", "./...", "x@v1", "a b", "\\x"} {
		if err := CheckPackage(bad); err == nil {
			t.Errorf("CheckPackage(%q) = nil, want an error", bad)
		}
	}
}

func TestCheckTag(t *testing.T) {
	for _, ok := range []string{"netgo", "osusergo", "go1.21", "a_b"} {
		if err := CheckTag(ok); err != nil {
			t.Errorf("CheckTag(%q) = %v", ok, err)
		}
	}
	for _, bad := range []string{"", "a,b", "a b", "-toolexec", "x=y", "'q'"} {
		if err := CheckTag(bad); err == nil {
			t.Errorf("CheckTag(%q) = nil, want an error", bad)
		}
	}
}

// FuzzValidateLdflags checks that whatever ValidateLdflags accepts, split the
// way the go command splits it, holds only the allowed linker flags.
func FuzzValidateLdflags(f *testing.F) {
	for _, s := range []string{"-s -w", "-X main.v=1", "-X=main.v=1 -buildid=", "-o /tmp/x", "'-o' x", `"-X" "a.b=c d"`, "main=-o x", "-X -o"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if ValidateLdflags(s) != nil {
			return
		}
		args, err := SplitLdflags(strings.TrimSpace(s + " -buildid="))
		if err != nil {
			t.Fatalf("accepted %q but cannot split it with -buildid= appended: %v", s, err)
		}
		if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
			t.Fatalf("accepted %q whose first argument %q is not a flag", s, args[0])
		}
		for i := 0; i < len(args); i++ {
			switch a := args[i]; {
			case a == "-s", a == "-w", a == "-buildid=":
			case a == "-X":
				i++
				if i >= len(args) || strings.HasPrefix(args[i], "-") || !strings.Contains(args[i], "=") {
					t.Fatalf("accepted %q: -X without importpath.name=value", s)
				}
			case strings.HasPrefix(a, "-X="):
			default:
				t.Fatalf("accepted %q containing the flag %q", s, a)
			}
		}
	})
}
