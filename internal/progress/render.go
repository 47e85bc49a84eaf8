package progress

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"

	units "github.com/docker/go-units"
)

// Renderer draws events on w in a resolved mode (see Mode.Resolve):
//
//	tty    one line per layer, redrawn in place (ANSI cursor movement)
//	plain  one line per finished layer, nothing while bytes move
//	json   one JSON object per event
//	quiet  nothing
//
// It is safe for concurrent use (layers move in parallel).
type Renderer struct {
	mu     sync.Mutex
	w      io.Writer
	mode   Mode
	layers []Event         // tty: the last event of each layer, in order of appearance
	index  map[string]int  // digest+ref → position in layers
	drawn  int             // tty: lines drawn by the last redraw
	seen   map[string]bool // layers whose final event was drawn
}

// New draws on w in mode (Auto is resolved for w as a terminal or not).
func New(w io.Writer, mode Mode) *Renderer {
	if mode == Auto || mode == "" {
		mode = mode.Resolve(IsTerminal(w), false)
	}
	return &Renderer{w: w, mode: mode, index: map[string]int{}, seen: map[string]bool{}}
}

// Mode is the mode the renderer draws in.
func (r *Renderer) Mode() Mode { return r.mode }

// Report draws e; it is a Func.
func (r *Renderer) Report(e Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch r.mode {
	case JSON:
		_ = json.NewEncoder(r.w).Encode(e)
	case Plain:
		key := e.Ref + " " + e.Digest
		if e.Final() && !r.seen[key] {
			r.seen[key] = true
			fmt.Fprintln(r.w, line(e))
		}
	case TTY:
		key := e.Ref + " " + e.Digest
		if r.seen[key] {
			return // a late byte count after the end
		}
		if e.Final() {
			r.seen[key] = true
		}
		i, ok := r.index[key]
		if !ok {
			i = len(r.layers)
			r.index[key] = i
			r.layers = append(r.layers, e)
		}
		r.layers[i] = e
		r.redraw()
		if r.allFinal() {
			// Done: the lines stay as they are, and whatever is printed
			// next (a build step, the next image's layers) goes below
			// them instead of being drawn over.
			r.layers, r.drawn = nil, 0
			clear(r.index)
		}
	}
}

func (r *Renderer) allFinal() bool {
	for _, e := range r.layers {
		if !e.Final() {
			return false
		}
	}
	return true
}

// redraw moves the cursor to the first layer's line and rewrites every
// line, each cleared first.
func (r *Renderer) redraw() {
	var b strings.Builder
	if r.drawn > 0 {
		fmt.Fprintf(&b, "\x1b[%dA", r.drawn)
	}
	for _, e := range r.layers {
		b.WriteString("\r\x1b[2K")
		b.WriteString(line(e))
		b.WriteByte('\n')
	}
	r.drawn = len(r.layers)
	_, _ = io.WriteString(r.w, b.String())
}

// line is a layer's line: "push sha256:0123456789ab  12.3MB / 45.6MB".
func line(e Event) string {
	d := e.Digest
	if _, hex, ok := strings.Cut(d, ":"); ok && len(hex) > 12 {
		d = d[:len(d)-len(hex)+12]
	}
	s := e.Action + " " + d + "  "
	switch e.Status {
	case Transferring:
		s += size(e.Bytes)
		if e.Total > 0 {
			s += " / " + size(e.Total)
		}
	case Done:
		s += "done " + size(e.Bytes)
	default:
		s += e.Status
	}
	return s
}

func size(n int64) string {
	return units.HumanSizeWithPrecision(float64(n), 3)
}
