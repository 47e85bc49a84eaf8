package logs

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func writeLines(t *testing.T, path string, start, n int, extra string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for i := start; i < start+n; i++ {
		b, _ := json.Marshal(Entry{Time: t0.Add(time.Duration(i) * time.Second), Stream: "stdout", Log: "line " + itoa(i) + "\n"})
		f.Write(append(b, '\n'))
	}
	f.WriteString(extra)
}

func itoa(i int) string { return string(rune('a'+i%26)) + string(rune('0'+i/26)) }

func TestReadAllAcrossRotationsWithSinceAndTail(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "c.log")
	writeLines(t, p+".2", 0, 3, "")
	writeLines(t, p+".1", 3, 3, "")
	writeLines(t, p, 6, 3, `{"time":"2026-01-02T03:`) // a torn last line
	all, err := ReadAll(p, Options{})
	if err != nil || len(all) != 9 {
		t.Fatalf("ReadAll: %d entries, %v", len(all), err)
	}
	for i, e := range all {
		if !e.Time.Equal(t0.Add(time.Duration(i) * time.Second)) {
			t.Fatalf("entry %d out of order: %v", i, e.Time)
		}
	}
	tail, _ := ReadAll(p, Options{Tail: 2})
	if len(tail) != 2 || tail[1].Log != "line "+itoa(8)+"\n" {
		t.Fatalf("tail: %+v", tail)
	}
	since, _ := ReadAll(p, Options{Since: t0.Add(7 * time.Second)})
	if len(since) != 2 {
		t.Fatalf("since: %d entries", len(since))
	}
}

func TestFollowSeesAppendsAndRotation(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "c.log")
	writeLines(t, p, 0, 2, "")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := make(chan Entry, 100)
	done := make(chan error, 1)
	go func() { done <- Follow(ctx, p, Options{Poll: 5 * time.Millisecond}, out) }()
	next := func() Entry {
		select {
		case e := <-out:
			return e
		case <-time.After(5 * time.Second):
			t.Fatal("no entry followed")
		}
		return Entry{}
	}
	// Give Follow a moment to open the file at its end, then append:
	// poll until it has (a write before it opened would be skipped as old).
	deadline := time.Now().Add(5 * time.Second)
	var got Entry
	for i := 2; ; i++ {
		writeLines(t, p, i, 1, "")
		select {
		case got = <-out:
		case <-time.After(50 * time.Millisecond):
			if time.Now().After(deadline) {
				t.Fatal("Follow never picked up appended lines")
			}
			continue
		}
		break
	}
	if got.Log == "line "+itoa(0)+"\n" || got.Log == "line "+itoa(1)+"\n" {
		t.Fatalf("Follow replayed old lines: %q", got.Log)
	}
	// Rotation: the file moves to .1 and a new one starts.
	os.Rename(p, p+".1")
	writeLines(t, p, 100, 1, "")
	for {
		e := next()
		if e.Log == "line "+itoa(100)+"\n" {
			break
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestMergeAndFormat(t *testing.T) {
	m := Merge(map[string][]Entry{
		"app-2": {{Time: t0.Add(2 * time.Second), Log: "b\n"}},
		"app-1": {{Time: t0.Add(1 * time.Second), Log: "a\n"}, {Time: t0.Add(3 * time.Second), Log: "c"}},
	})
	var buf bytes.Buffer
	for _, e := range m {
		Format(&buf, e, 5, false)
	}
	if want := "app-1 | a\napp-2 | b\napp-1 | c\n"; buf.String() != want {
		t.Fatalf("got %q, want %q", buf.String(), want)
	}
}

// FromStart: a just-started container's first lines, written before it
// is followed, are not lost.
func TestFollowFromStart(t *testing.T) {
	p := filepath.Join(t.TempDir(), "c.log")
	writeLines(t, p, 0, 2, "")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := make(chan Entry, 100)
	go func() { _ = Follow(ctx, p, Options{Poll: 5 * time.Millisecond, FromStart: true}, out) }()
	for i := 0; i < 3; i++ {
		if i == 2 {
			writeLines(t, p, 2, 1, "")
		}
		select {
		case e := <-out:
			if want := "line " + itoa(i) + "\n"; e.Log != want {
				t.Fatalf("entry %d: %q, want %q", i, e.Log, want)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("entry %d never followed", i)
		}
	}
}

// Following a quiet log costs a stat per poll, not a fresh 64 KiB read
// buffer: a console's logs view polls ten times a second per replica.
func TestFollowQuietLogAllocatesLittle(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "c.log")
	writeLines(t, p, 0, 2, "")
	ctx, cancel := context.WithCancel(context.Background())
	out := make(chan Entry, 100)
	done := make(chan error, 1)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	go func() { done <- Follow(ctx, p, Options{Poll: time.Millisecond}, out) }()
	time.Sleep(300 * time.Millisecond) // an observation window: about 300 polls
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	if got := after.TotalAlloc - before.TotalAlloc; got > 4<<20 {
		t.Errorf("following a quiet log for 300 ms allocated %d KiB", got>>10)
	}
}
