package signals

import (
	"syscall"
	"testing"
)

func TestParse(t *testing.T) {
	for in, want := range map[string]syscall.Signal{
		"TERM": syscall.SIGTERM, "SIGTERM": syscall.SIGTERM, "sigquit": syscall.SIGQUIT, "SIGWINCH": syscall.SIGWINCH,
		"SIGPWR": syscall.SIGPWR, "STKFLT": syscall.SIGSTKFLT, "SIGIOT": syscall.SIGABRT, "POLL": syscall.SIGIO,
		"SIGSYS": syscall.SIGSYS, "URG": syscall.SIGURG, "9": syscall.SIGKILL, "64": 64,
		"RTMIN": 34, "SIGRTMIN+3": 37, "RTMAX": 64, "RTMAX-2": 62, "RTMIN+30": 64,
	} {
		got, err := Parse(in)
		if err != nil || got != want {
			t.Errorf("Parse(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "0", "65", "-1", "NOPE", "SIG", "RTMIN+31", "RTMIN-1", "RTMAX+1", "RTMIN+x", "RTMIN+03"} {
		if sig, err := Parse(in); err == nil {
			t.Errorf("Parse(%q) = %v, want an error", in, sig)
		}
	}
}

// Every name the previous tables (spec's 33, cmd/berth's 8) accepted still parses.
func TestParseKnownNames(t *testing.T) {
	for _, n := range []string{"HUP", "INT", "QUIT", "ILL", "TRAP", "ABRT", "IOT", "BUS", "FPE", "KILL", "USR1", "SEGV",
		"USR2", "PIPE", "ALRM", "TERM", "STKFLT", "CHLD", "CONT", "STOP", "TSTP", "TTIN", "TTOU", "URG", "XCPU",
		"XFSZ", "VTALRM", "PROF", "WINCH", "IO", "POLL", "PWR", "SYS"} {
		if _, err := Parse(n); err != nil {
			t.Errorf("%s: %v", n, err)
		}
	}
}

// Parse never panics and accepts only signals 1-64.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"TERM", "SIGRTMIN+3", "RTMAX-1", "9", "0", "RTMIN+99999999999999999999", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sig, err := Parse(s)
		if err == nil && (sig < 1 || sig > 64) {
			t.Fatalf("Parse(%q) = %d", s, sig)
		}
	})
}
