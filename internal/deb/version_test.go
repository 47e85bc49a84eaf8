package deb

import (
	"os/exec"
	"sync/atomic"
	"testing"
)

// versionPairs: a < b unless the third column says otherwise. Covers epochs,
// tildes, letters vs symbols, leading zeros, revisions and real Debian
// versions that appear in bookworm.
var versionPairs = []struct {
	a, b string
	want int
}{
	{"1.0", "1.0", 0},
	{"1.0", "1.1", -1},
	{"1.0", "1.0-0", 0}, // an absent revision compares equal to "0"
	{"1.0-1", "1.0-2", -1},
	{"1.0-1", "1.0-1.1", -1},
	{"1:1.0", "2.0", 1},
	{"0:1.0", "1.0", 0},
	{"00:1.0", "1.0", 0},
	{"1.0~rc1", "1.0", -1},
	{"1.0~rc1", "1.0~rc2", -1},
	{"1.0~~", "1.0~", -1},
	{"1.0~", "1.0", -1},
	{"1.0", "1.0+b1", -1},
	{"1.0", "1.0a", -1},
	{"1.0a", "1.0b", -1},
	{"1.0a", "1.0+", -1}, // letters sort before non-letters
	{"1.0+", "1.0.", -1}, // '+' (43) before '.' (46)
	{"1.0Z", "1.0a", -1}, // uppercase before lowercase (ASCII)
	{"1.01", "1.1", 0},
	{"1.001", "1.1", 0},
	{"1.10", "1.9", 1},
	{"10", "9", 1},
	{"1.2.3", "1.2.3.0", -1},
	{"2.36-9+deb12u7", "2.36-9+deb12u14", -1},
	{"2026b-0+deb12u1", "2026f-0+deb12u1", -1},
	{"2025b-0+deb12u1", "2026b-0+deb12u1", -1},
	{"1:1.35.0-4+deb12u1+b1", "1:1.35.0-4+deb12u1", 1},
	{"1.22.1-9+deb12u9", "1.22.1-9+deb12u11", -1},
	{"3.0.22-1~deb12u2", "3.0.22-1", -1},
	{"20250419~deb12u2", "20250419", -1},
	{"1:2.66-4+deb12u3+b1", "1:2.66-4+deb12u3", 1},
	{"1.3.4.20200120-3.1", "1.3.4.20200120-3", 1},
	{"2022-09-12-1", "2022-09-12-2", -1}, // hyphens in upstream
	{"1.0-1", "1.0-a", -1},
	{"7.6p2-4", "7.6-0", 1},
	{"1.0.3-3", "1.0-1", 1},
	{"1.3", "1.2.2-2", 1},
	{"1.3", "1.2.2", 1},
	{"0-pre", "0-pre", 0},
	{"0-pre", "0-pree", -1},
	{"1.1.6r2-2", "1.1.6r-1", 1},
	{"2.6b2-1", "2.6b-2", 1},
	{"98.1p5-1", "98.1-pre2-b6-2", -1},
	{"0.4a6-2", "0.4-1", 1},
	{"1:3.0.5+dfsg-1", "1:3.0.5-1", 1},
	{"4294967296:1", "4294967295:1", 1}, // invalid epoch size still orders (best effort)
	{"1.0-", "1.0", 0},                  // malformed: empty revision treated as absent
}

func TestCompareVersionsTable(t *testing.T) {
	for _, tc := range versionPairs {
		if got := CompareVersions(tc.a, tc.b); got != tc.want {
			t.Errorf("CompareVersions(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
		if got := CompareVersions(tc.b, tc.a); got != -tc.want {
			t.Errorf("CompareVersions(%q, %q) = %d, want %d", tc.b, tc.a, got, -tc.want)
		}
	}
}

// dpkgCompare asks the real dpkg. ok is false when dpkg is missing or
// rejected the input.
func dpkgCompare(t testing.TB, a, b string) (int, bool) {
	dpkg, err := exec.LookPath("dpkg")
	if err != nil {
		return 0, false
	}
	run := func(op string) (bool, bool) {
		err := exec.Command(dpkg, "--compare-versions", a, op, b).Run()
		if err == nil {
			return true, true
		}
		if ee, ok := err.(*exec.ExitError); ok && ee.ExitCode() == 1 {
			return false, true
		}
		return false, false // exit 2: dpkg refused a version
	}
	lt, ok := run("lt")
	if !ok {
		return 0, false
	}
	if lt {
		return -1, true
	}
	gt, ok := run("gt")
	if !ok {
		return 0, false
	}
	if gt {
		return 1, true
	}
	return 0, true
}

func TestCompareVersionsAgainstDpkg(t *testing.T) {
	if _, err := exec.LookPath("dpkg"); err != nil {
		t.Skip("dpkg not installed; the table test still ran")
	}
	checked := 0
	for _, tc := range versionPairs {
		if _, err := ParseVersion(tc.a); err != nil {
			continue
		}
		if _, err := ParseVersion(tc.b); err != nil {
			continue
		}
		want, ok := dpkgCompare(t, tc.a, tc.b)
		if !ok {
			t.Errorf("dpkg rejected %q or %q, which ParseVersion accepts", tc.a, tc.b)
			continue
		}
		checked++
		if got := CompareVersions(tc.a, tc.b); got != want {
			t.Errorf("CompareVersions(%q, %q) = %d, dpkg says %d", tc.a, tc.b, got, want)
		}
	}
	if checked < 40 {
		t.Fatalf("only %d pairs were checked against dpkg", checked)
	}
}

func TestParseVersion(t *testing.T) {
	good := map[string]Version{
		"1.0":          {"0", "1.0", ""},
		"1:2.3-4":      {"1", "2.3", "4"},
		"2022-09-12-1": {"0", "2022-09-12", "1"},
		"1:2.0~rc1+b1": {"1", "2.0~rc1+b1", ""},
		" 1.0 ":        {"0", "1.0", ""},
		"1:2:3-4":      {"1", "2:3", "4"},
	}
	for in, want := range good {
		got, err := ParseVersion(in)
		if err != nil || got != want {
			t.Errorf("ParseVersion(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	bad := []string{"", " ", "a1.0", "1.0 1", ":1.0", "x:1.0", "1:", "1.0-", "1.0_1", "1.0-1_2", "-1", "99999999999:1.0", "1.0-1:2"}
	for _, in := range bad {
		if v, err := ParseVersion(in); err == nil {
			t.Errorf("ParseVersion(%q) = %+v, want an error", in, v)
		}
	}
}

func TestSatisfiesVersion(t *testing.T) {
	cases := []struct {
		v, op, want string
		ok          bool
	}{
		{"1.0", "", "", true},
		{"1.0", ">=", "1.0", true},
		{"1.0", ">>", "1.0", false},
		{"1.0", "<<", "1.0~", false},
		{"1.0~", "<<", "1.0", true},
		{"1.0", "=", "0:1.0", true},
		{"1.0", "<=", "0.9", false},
		{"1.0", "!=", "0.9", false},
	}
	for _, c := range cases {
		if got := satisfiesVersion(c.v, c.op, c.want); got != c.ok {
			t.Errorf("%s %s %s = %v, want %v", c.v, c.op, c.want, got, c.ok)
		}
	}
}

// dpkgFuzzBudget bounds how many fuzz inputs are checked against the dpkg
// binary (a process per comparison).
var dpkgFuzzBudget atomic.Int64

func init() { dpkgFuzzBudget.Store(2000) }

// FuzzCompareVersions checks ordering properties on any input and, for
// inputs dpkg accepts, agreement with dpkg itself (bounded number of runs).
func FuzzCompareVersions(f *testing.F) {
	for _, tc := range versionPairs {
		f.Add(tc.a, tc.b, "1.0")
	}
	f.Add("1.0~~a", "1.0~", "1.0~a")
	f.Add("1:0", "0:9", "00000:1")
	f.Fuzz(func(t *testing.T, a, b, c string) {
		ab, ba := CompareVersions(a, b), CompareVersions(b, a)
		if ab != -ba {
			t.Fatalf("not antisymmetric: cmp(%q,%q)=%d cmp(%q,%q)=%d", a, b, ab, b, a, ba)
		}
		if CompareVersions(a, a) != 0 {
			t.Fatalf("cmp(%q,%q) != 0", a, a)
		}
		bc, ac := CompareVersions(b, c), CompareVersions(a, c)
		if ab <= 0 && bc <= 0 && ac > 0 {
			t.Fatalf("not transitive: %q <= %q <= %q but %q > %q", a, b, c, a, c)
		}
		va, erra := ParseVersion(a)
		vb, errb := ParseVersion(b)
		if erra == nil {
			// the canonical rendering compares equal to the input
			if CompareVersions(va.String(), a) != 0 {
				t.Fatalf("ParseVersion(%q).String() = %q compares differently", a, va.String())
			}
		}
		if erra != nil || errb != nil || dpkgFuzzBudget.Add(-1) < 0 {
			return
		}
		_ = vb
		want, ok := dpkgCompare(t, a, b)
		if !ok {
			if _, err := exec.LookPath("dpkg"); err == nil {
				t.Fatalf("dpkg rejected %q or %q, which ParseVersion accepts", a, b)
			}
			return
		}
		if ab != want {
			t.Fatalf("CompareVersions(%q, %q) = %d, dpkg says %d", a, b, ab, want)
		}
	})
}
