// Package logs reads containers' JSON-lines log files — the format the
// supervisor writes, Docker's json-file format: one {"time", "stream",
// "log"} object per line, rotated to FILE.1, FILE.2, ... (higher = older) —
// with --since, --tail and --follow, and merges several containers' logs
// in time order with compose-style name prefixes.
package logs

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sort"
	"strconv"
	"time"
)

// Entry is one log line.
type Entry struct {
	Time   time.Time `json:"time"`
	Stream string    `json:"stream"`           // stdout or stderr
	Log    string    `json:"log"`              // the line, with its newline
	Source string    `json:"source,omitempty"` // the container's display name (set by Merge; not in files)
}

// Options select what to read.
type Options struct {
	Since  time.Time // zero: from the start
	Tail   int       // 0: all lines; otherwise the last Tail lines
	Follow bool
	// FromStart makes Follow read the current file from its start, not
	// its end: for a container that just started, whose first lines
	// may be written before it is followed (the web console's logs).
	FromStart bool
	// Poll is how often a followed file is checked for new data.
	Poll time.Duration
}

// files returns path's rotated files, oldest first, then path itself.
func files(path string) []string {
	var rotated []string
	for i := 1; ; i++ {
		p := path + "." + strconv.Itoa(i)
		if _, err := os.Stat(p); err != nil {
			break
		}
		rotated = append(rotated, p)
	}
	out := make([]string, 0, len(rotated)+1)
	for i := len(rotated) - 1; i >= 0; i-- {
		out = append(out, rotated[i])
	}
	return append(out, path)
}

// ReadAll returns the entries of one container's log (all rotations) that
// match o.Since and o.Tail. Malformed lines (a torn last line after a crash)
// are skipped.
func ReadAll(path string, o Options) ([]Entry, error) {
	var out []Entry
	for _, p := range files(path) {
		f, err := os.Open(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue // rotated away while reading
		}
		if err != nil {
			return nil, err
		}
		_, err = scan(f, func(e Entry) {
			if !e.Time.Before(o.Since) {
				out = append(out, e)
			}
		})
		f.Close()
		if err != nil {
			return nil, err
		}
	}
	if o.Tail > 0 && len(out) > o.Tail {
		out = out[len(out)-o.Tail:]
	}
	return out, nil
}

// scan reads complete lines from r and returns how many bytes they took,
// so a follower can resume after a partial last line.
func scan(r io.Reader, fn func(Entry)) (int64, error) {
	return scanBuffered(bufio.NewReaderSize(r, 64<<10), fn)
}

// scanBuffered is scan through br (Follow reuses one).
func scanBuffered(br *bufio.Reader, fn func(Entry)) (int64, error) {
	var n int64
	for {
		line, err := br.ReadBytes('\n')
		if err == io.EOF {
			return n, nil // a partial line stays for the next read
		}
		if err != nil {
			return n, err
		}
		n += int64(len(line))
		var e Entry
		if json.Unmarshal(line, &e) == nil && !e.Time.IsZero() {
			fn(e)
		}
	}
}

// Follow sends new entries of path to out until ctx ends, starting at the
// end of the current file (its start with o.FromStart). It notices rotation (the file replaced by a new
// one) and continues with the new file from its start.
func Follow(ctx context.Context, path string, o Options, out chan<- Entry) error {
	poll := o.Poll
	if poll <= 0 {
		poll = 100 * time.Millisecond
	}
	var f *os.File
	var ino uint64
	var off int64
	open := func(fromEnd bool) error {
		nf, err := os.Open(path)
		if err != nil {
			return err
		}
		fi, err := nf.Stat()
		if err != nil {
			nf.Close()
			return err
		}
		if f != nil {
			f.Close()
		}
		f, ino, off = nf, inode(fi), 0
		if fromEnd {
			off = fi.Size()
		}
		return nil
	}
	if err := open(!o.FromStart); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	defer func() {
		if f != nil {
			f.Close()
		}
	}()
	t := time.NewTicker(poll)
	defer t.Stop()
	// Most polls find nothing new: they cost one fstat, and reads reuse
	// one buffer (a console's open logs view polls ten times a second).
	br := bufio.NewReaderSize(nil, 64<<10)
	for {
		if f != nil && !caughtUp(f, off) {
			if _, err := f.Seek(off, io.SeekStart); err != nil {
				return err
			}
			br.Reset(f)
			n, err := scanBuffered(br, func(e Entry) {
				select {
				case out <- e:
				case <-ctx.Done():
				}
			})
			if err != nil {
				return err
			}
			off += n
		}
		// Rotated? The path now names another file: read what is left of
		// ours was done above; continue with the new one from its start.
		if fi, err := os.Stat(path); err == nil && (f == nil || inode(fi) != ino) {
			if err := open(false); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
			continue
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// caughtUp tells whether f's size is off: nothing new to read.
func caughtUp(f *os.File, off int64) bool {
	fi, err := f.Stat()
	return err == nil && fi.Size() == off
}

// Merge sorts entries of several sources by time (stable, so one source's
// order is kept).
func Merge(sources map[string][]Entry) []Entry {
	var all []Entry
	names := make([]string, 0, len(sources))
	for n := range sources {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		for _, e := range sources[n] {
			e.Source = n
			all = append(all, e)
		}
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].Time.Before(all[j].Time) })
	return all
}

// Format writes e as compose does: "name  | line", the name padded to width.
func Format(w io.Writer, e Entry, width int, timestamps bool) error {
	prefix := ""
	if e.Source != "" {
		prefix = fmt.Sprintf("%-*s | ", width, e.Source)
	}
	if timestamps {
		prefix += e.Time.UTC().Format(time.RFC3339Nano) + " "
	}
	line := e.Log
	if line == "" || line[len(line)-1] != '\n' {
		line += "\n"
	}
	_, err := io.WriteString(w, prefix+line)
	return err
}
