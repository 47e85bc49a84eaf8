package runtime

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func readLog(t *testing.T, name string) []LogEntry {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []LogEntry
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		var e LogEntry
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("%s: line %q is not a JSON log entry: %v", name, sc.Text(), err)
		}
		out = append(out, e)
	}
	return out
}

func TestLogWriterRotation(t *testing.T) {
	name := filepath.Join(t.TempDir(), "c.log")
	w, err := OpenLogWriter(name, 300, 3)
	if err != nil {
		t.Fatal(err)
	}
	var input strings.Builder
	for i := range 40 {
		fmt.Fprintf(&input, "line %02d\n", i)
	}
	if err := w.Copy("stdout", strings.NewReader(input.String())); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(name + ".3"); !os.IsNotExist(err) {
		t.Fatalf("more files than max-files=3 kept: %v", err)
	}
	// Oldest to newest, the kept files hold a contiguous tail of the input.
	var got []string
	for _, f := range []string{name + ".2", name + ".1", name} {
		fi, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Size() > 300 {
			t.Errorf("%s is %d bytes, over the 300-byte cap", f, fi.Size())
		}
		for _, e := range readLog(t, f) {
			if e.Stream != "stdout" || e.Time.IsZero() {
				t.Errorf("bad entry %+v", e)
			}
			got = append(got, e.Log)
		}
	}
	if len(got) == 0 || got[len(got)-1] != "line 39\n" {
		t.Fatalf("newest entry = %q, want \"line 39\\n\"", got)
	}
	first := 40 - len(got)
	for i, l := range got {
		if want := fmt.Sprintf("line %02d\n", first+i); l != want {
			t.Fatalf("entry %d = %q, want %q (entries lost or reordered)", i, l, want)
		}
	}
}

func TestLogWriterSplitsLongLinesAndKeepsPartialTail(t *testing.T) {
	name := filepath.Join(t.TempDir(), "c.log")
	w, err := OpenLogWriter(name, 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("x", maxLogLine+10) + "\n"
	if err := w.Copy("stderr", strings.NewReader(long+"tail without newline")); err != nil {
		t.Fatal(err)
	}
	w.Close()
	entries := readLog(t, name)
	var joined string
	for _, e := range entries {
		if len(e.Log) > maxLogLine {
			t.Errorf("entry of %d bytes exceeds %d", len(e.Log), maxLogLine)
		}
		joined += e.Log
	}
	if joined != long+"tail without newline" {
		t.Fatalf("log content changed: got %d bytes", len(joined))
	}
	if last := entries[len(entries)-1]; last.Log != "tail without newline" || last.Stream != "stderr" {
		t.Fatalf("last entry = %+v", last)
	}
}
