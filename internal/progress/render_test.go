package progress

import (
	"encoding/json"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// screen is a fake terminal: it applies what the tty mode writes (lines,
// carriage returns, "clear line" and "cursor up") and keeps what a user
// would see.
type screen struct {
	lines []string
	row   int
	raw   strings.Builder
}

var csi = regexp.MustCompile(`^\x1b\[(\d*)([A-Za-z])`)

func (s *screen) Write(p []byte) (int, error) {
	s.raw.Write(p)
	in := string(p)
	for len(in) > 0 {
		if m := csi.FindStringSubmatch(in); m != nil {
			switch m[2] {
			case "A":
				n, _ := strconv.Atoi(m[1])
				s.row = max(0, s.row-n)
			case "K":
				s.set("")
			}
			in = in[len(m[0]):]
			continue
		}
		switch c := in[0]; c {
		case '\n':
			s.row++
		case '\r':
		default:
			s.set(s.line() + string(c))
		}
		in = in[1:]
	}
	return len(p), nil
}

func (s *screen) line() string {
	if s.row < len(s.lines) {
		return s.lines[s.row]
	}
	return ""
}

func (s *screen) set(v string) {
	for len(s.lines) <= s.row {
		s.lines = append(s.lines, "")
	}
	s.lines[s.row] = v
}

const (
	dA = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	dB = "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
)

func events() []Event {
	return []Event{
		{Action: "push", Digest: dA, Total: 2_000_000, Status: Transferring},
		{Action: "push", Digest: dB, Status: Exists},
		{Action: "push", Digest: dA, Bytes: 1_000_000, Total: 2_000_000, Status: Transferring},
		{Action: "push", Digest: dA, Bytes: 2_000_000, Total: 2_000_000, Status: Done},
		{Action: "push", Digest: dA, Bytes: 2_000_000, Total: 2_000_000, Status: Transferring}, // late
	}
}

func TestRendererTTYRedrawsOneLinePerLayer(t *testing.T) {
	var s screen
	r := New(&s, TTY)
	evs := events()
	r.Report(evs[0])
	r.Report(evs[1])
	r.Report(evs[2])
	if want := []string{"push sha256:aaaaaaaaaaaa  1MB / 2MB", "push sha256:bbbbbbbbbbbb  exists"}; strings.Join(s.lines, "\n") != strings.Join(want, "\n") {
		t.Fatalf("screen mid-transfer:\n%s\nwant\n%s", strings.Join(s.lines, "\n"), strings.Join(want, "\n"))
	}
	r.Report(evs[3])
	r.Report(evs[4])
	if want := []string{"push sha256:aaaaaaaaaaaa  done 2MB", "push sha256:bbbbbbbbbbbb  exists"}; strings.Join(s.lines, "\n") != strings.Join(want, "\n") {
		t.Fatalf("screen at the end:\n%q\nwant\n%q", s.lines, want)
	}
	if s.row != 2 {
		t.Errorf("cursor on row %d, want 2 (below the layers)", s.row)
	}
}

func TestRendererPlainPrintsFinishedLayersOnly(t *testing.T) {
	var b strings.Builder
	r := New(&b, Plain)
	for _, e := range events() {
		r.Report(e)
	}
	r.Report(events()[3]) // twice: printed once
	want := "push sha256:bbbbbbbbbbbb  exists\npush sha256:aaaaaaaaaaaa  done 2MB\n"
	if b.String() != want {
		t.Errorf("plain:\n%q\nwant\n%q", b.String(), want)
	}
	if strings.Contains(b.String(), "\x1b") {
		t.Error("escape sequences in plain output")
	}
}

func TestRendererJSONOneObjectPerEvent(t *testing.T) {
	var b strings.Builder
	r := New(&b, JSON)
	for _, e := range events() {
		r.Report(e)
	}
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != len(events()) {
		t.Fatalf("%d lines, want %d:\n%s", len(lines), len(events()), b.String())
	}
	var e map[string]any
	if err := json.Unmarshal([]byte(lines[2]), &e); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"action": "push", "digest": dA, "bytes": 1e6, "total": 2e6, "status": "transferring"}
	for k, v := range want {
		if e[k] != v {
			t.Errorf("%s = %v, want %v (%s)", k, e[k], v, lines[2])
		}
	}
}

func TestRendererQuietAndAuto(t *testing.T) {
	var b strings.Builder
	r := New(&b, Quiet)
	for _, e := range events() {
		r.Report(e)
	}
	if b.Len() != 0 {
		t.Errorf("quiet wrote %q", b.String())
	}
	// A strings.Builder is no terminal: auto is plain.
	if m := New(&b, Auto).Mode(); m != Plain {
		t.Errorf("auto on a non-terminal = %s, want plain", m)
	}
}

func TestModes(t *testing.T) {
	for _, c := range []struct {
		mode                 Mode
		terminal, resultOnly bool
		want                 Mode
	}{
		{Auto, true, false, TTY},
		{Auto, false, false, Plain},
		{Auto, true, true, Quiet},
		{JSON, false, true, JSON},
		{Plain, true, false, Plain},
	} {
		if got := c.mode.Resolve(c.terminal, c.resultOnly); got != c.want {
			t.Errorf("%s.Resolve(terminal %v, result only %v) = %s, want %s", c.mode, c.terminal, c.resultOnly, got, c.want)
		}
	}
	if m, err := ParseMode(""); err != nil || m != Auto {
		t.Errorf("ParseMode(\"\") = %s, %v", m, err)
	}
	if _, err := ParseMode("fancy"); err == nil || !strings.Contains(err.Error(), `--progress "fancy": want auto, tty, plain, json or quiet`) {
		t.Errorf("ParseMode(fancy): %v", err)
	}
}

// Once every layer is over, the block is left alone: what comes next (a
// build step's line, the next image) is printed below it, not drawn over.
func TestRendererTTYLeavesAFinishedBlock(t *testing.T) {
	var s screen
	r := New(&s, TTY)
	r.Report(Event{Action: "push", Digest: dA, Total: 10, Status: Transferring})
	r.Report(Event{Action: "push", Digest: dA, Bytes: 10, Total: 10, Status: Done})
	s.Write([]byte("built worker\n"))
	r.Report(Event{Action: "push", Digest: dB, Total: 10, Status: Transferring})
	r.Report(Event{Action: "push", Digest: dB, Bytes: 10, Total: 10, Status: Done})
	want := []string{"push sha256:aaaaaaaaaaaa  done 10B", "built worker", "push sha256:bbbbbbbbbbbb  done 10B"}
	if strings.Join(s.lines, "\n") != strings.Join(want, "\n") {
		t.Errorf("screen:\n%q\nwant\n%q", s.lines, want)
	}
}
