// Package signals is berth's one table of Linux signal names: what an
// image's STOPSIGNAL, berth.yaml's stopSignal and a stack's stop_signal
// accept, and what the engine sends.
package signals

import (
	"fmt"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// The real-time signals as glibc (and Docker) number them: the kernel's
// first two are taken by the threading library.
const (
	rtMin = 34
	rtMax = 64
)

// aliases are the names glibc accepts that x/sys/unix's table (one name a
// number) lacks.
var aliases = map[string]syscall.Signal{"IOT": unix.SIGABRT, "POLL": unix.SIGIO, "CLD": unix.SIGCHLD}

// Parse reads a signal as Docker's STOPSIGNAL does: a name with or without
// "SIG" in any case (TERM, SIGTERM, sigterm), RTMIN+n / RTMAX-n, or a number
// 1-64.
func Parse(s string) (syscall.Signal, error) {
	if n, err := strconv.Atoi(s); err == nil {
		if n < 1 || n > rtMax {
			return 0, fmt.Errorf("invalid signal %q: numbers must be 1-%d", s, rtMax)
		}
		return syscall.Signal(n), nil
	}
	name := strings.TrimPrefix(strings.ToUpper(strings.TrimSpace(s)), "SIG")
	if sig := unix.SignalNum("SIG" + name); sig != 0 {
		return sig, nil
	}
	if sig, ok := aliases[name]; ok {
		return sig, nil
	}
	if sig, ok := realtime(name); ok {
		return sig, nil
	}
	return 0, fmt.Errorf("invalid signal %q: expected a signal name such as SIGTERM, RTMIN+n or a number 1-%d", s, rtMax)
}

// realtime reads RTMIN, RTMIN+n, RTMAX and RTMAX-n (n within the range).
func realtime(name string) (syscall.Signal, bool) {
	base, sign, rest := 0, 0, ""
	switch {
	case strings.HasPrefix(name, "RTMIN"):
		base, sign, rest = rtMin, 1, name[len("RTMIN"):]
	case strings.HasPrefix(name, "RTMAX"):
		base, sign, rest = rtMax, -1, name[len("RTMAX"):]
	default:
		return 0, false
	}
	if rest == "" {
		return syscall.Signal(base), true
	}
	want := "+"
	if sign < 0 {
		want = "-"
	}
	if !strings.HasPrefix(rest, want) {
		return 0, false
	}
	n, err := strconv.Atoi(rest[1:])
	if err != nil || n < 0 || rest[1:] != strconv.Itoa(n) || n > rtMax-rtMin {
		return 0, false
	}
	return syscall.Signal(base + sign*n), true
}
