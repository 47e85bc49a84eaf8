package logs

import "io"

// Printer writes the entries of a stack's containers as `berth logs`
// does: compose's "name | line" (the container names padded to the
// stack's: the stack name, a service and a replica number), with
// Timestamps the time too, or with JSON one object per line.
type Printer struct {
	W          io.Writer
	Stack      string
	JSON       bool
	Timestamps bool
}

// Entry writes e.
func (p Printer) Entry(e Entry) error {
	if p.JSON {
		return WriteJSON(p.W, e, p.Stack)
	}
	return Format(p.W, e, len(p.Stack)+8, p.Timestamps)
}
