// Package termio sets up the local terminal for a command that runs with
// a terminal elsewhere (berth exec -t): raw mode, the size, and resizes.
package termio

import (
	"fmt"
	"os"
	"os/signal"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
	"golang.org/x/term"
)

// Session is the local terminal while a remote terminal runs. The zero
// Session is no terminal: size 0, no resizes, nothing to restore.
type Session struct {
	// Width and Height are the terminal's size at the start (0 when
	// standard output is no terminal).
	Width, Height uint16
	// Resize gets the new [height, width] when the terminal is resized;
	// nil when standard output is no terminal.
	Resize chan [2]uint16

	once    sync.Once
	restore func() // the terminal's mode before raw
	stop    func() // stops the resize watch
}

// Setup prepares stdin and stdout. In raw mode keys (^C, ^D, arrows) go to
// the remote terminal as they are, not to our own line discipline. Without
// input, only output processing is turned off: the remote terminal already
// turned \n into \r\n, and ^C still stops berth.
func Setup(interactive bool) (*Session, error) {
	s := &Session{}
	in, out := int(os.Stdin.Fd()), int(os.Stdout.Fd())
	if w, h, err := term.GetSize(out); err == nil {
		s.Width, s.Height = uint16(w), uint16(h)
	}
	var err error
	switch {
	case interactive && term.IsTerminal(in):
		var old *term.State
		if old, err = term.MakeRaw(in); err == nil {
			s.restore = func() { term.Restore(in, old) }
		}
	case term.IsTerminal(out):
		s.restore, err = rawOutput(out)
	}
	if err != nil {
		return nil, fmt.Errorf("setting up the terminal: %w", err)
	}
	if term.IsTerminal(out) {
		s.Resize = make(chan [2]uint16, 1)
		winch := make(chan os.Signal, 1)
		signal.Notify(winch, syscall.SIGWINCH)
		s.stop = func() { signal.Stop(winch) }
		go func() {
			for range winch {
				if w, h, err := term.GetSize(out); err == nil {
					select {
					case s.Resize <- [2]uint16{uint16(h), uint16(w)}:
					default: // one pending is enough: it is re-read on the next signal
					}
				}
			}
		}()
	}
	return s, nil
}

// Restore puts the terminal back as it was and stops watching resizes;
// calling it again does nothing.
func (s *Session) Restore() {
	s.once.Do(func() {
		if s.restore != nil {
			s.restore()
		}
		if s.stop != nil {
			s.stop()
		}
	})
}

// rawOutput turns off the output processing of the terminal fd and returns
// how to turn it back on.
func rawOutput(fd int) (func(), error) {
	t, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return nil, err
	}
	old := *t
	t.Oflag &^= unix.OPOST
	if err := unix.IoctlSetTermios(fd, unix.TCSETS, t); err != nil {
		return nil, err
	}
	return func() { unix.IoctlSetTermios(fd, unix.TCSETS, &old) }, nil
}
