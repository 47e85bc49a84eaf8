package termio

import "testing"

// The zero Session stands for "no terminal" (exec without -t): no size,
// no resizes, and Restore does nothing, however often it is called.
func TestZeroSession(t *testing.T) {
	var s Session
	if s.Width != 0 || s.Height != 0 || s.Resize != nil {
		t.Fatalf("zero session: %dx%d, resize %v", s.Width, s.Height, s.Resize)
	}
	s.Restore()
	s.Restore()
}
