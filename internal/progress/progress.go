// Package progress shows how the blobs of an image move (push, pull,
// promote): per-layer bytes redrawn in place on a terminal, one line per
// finished layer otherwise, or one JSON object per event — BuildKit's
// --progress auto|tty|plain|json. Tracker (tracker.go) turns a transfer into
// Events; Renderer draws them.
package progress

import (
	"context"
	"fmt"
	"os"

	"golang.org/x/term"
)

// The statuses of an Event.
const (
	Transferring = "transferring" // Bytes of Total so far
	Done         = "done"         // every byte moved
	Exists       = "exists"       // the target had it: nothing moved
	Mounted      = "mounted"      // the registry linked it from another repository: nothing moved
)

// Event is one step of one layer's transfer (`--progress json` prints
// each as one line).
type Event struct {
	Action string `json:"action"`        // push, pull or promote
	Ref    string `json:"ref,omitempty"` // the image
	Digest string `json:"digest"`        // the layer (blob)
	Bytes  int64  `json:"bytes"`         // moved so far
	Total  int64  `json:"total"`         // its size (0: unknown)
	Status string `json:"status"`
}

// Final says whether the layer's transfer is over.
func (e Event) Final() bool { return e.Status != Transferring }

// Func receives events; nil drops them.
type Func func(Event)

func (f Func) send(e Event) {
	if f != nil {
		f(e)
	}
}

// Mode is a --progress value.
type Mode string

// The modes: Auto is TTY on a terminal, else Plain; Quiet shows nothing.
const (
	Auto  Mode = "auto"
	TTY   Mode = "tty"
	Plain Mode = "plain"
	JSON  Mode = "json"
	Quiet Mode = "quiet"
)

// ParseMode reads --progress.
func ParseMode(s string) (Mode, error) {
	switch m := Mode(s); m {
	case "":
		return Auto, nil
	case Auto, TTY, Plain, JSON, Quiet:
		return m, nil
	}
	return "", fmt.Errorf("--progress %q: want auto, tty, plain, json or quiet", s)
}

// Resolve turns Auto into TTY when the output is a terminal, else Plain
// — or into Quiet when the command prints only its result (-q, --json on
// stdout): then only an explicit mode shows progress.
func (m Mode) Resolve(terminal, resultOnly bool) Mode {
	switch {
	case m != Auto && m != "":
		return m
	case resultOnly:
		return Quiet
	case terminal:
		return TTY
	}
	return Plain
}

// IsTerminal says whether w is a terminal.
func IsTerminal(w any) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

type ctxKey struct{}

// NewContext carries fn to code that transfers on the caller's behalf
// (the daemon's pull streams it back to the client).
func NewContext(ctx context.Context, fn Func) context.Context {
	return context.WithValue(ctx, ctxKey{}, fn)
}

// FromContext is the Func of NewContext, or nil.
func FromContext(ctx context.Context) Func {
	fn, _ := ctx.Value(ctxKey{}).(Func)
	return fn
}
