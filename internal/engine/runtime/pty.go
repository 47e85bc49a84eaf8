package runtime

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// Size is a terminal size in character cells.
type Size struct {
	Rows, Cols uint16
}

// openPty allocates a pseudo-terminal pair from /dev/ptmx.
func openPty() (master, slave *os.File, err error) {
	mfd, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("open /dev/ptmx: %w", err)
	}
	master = os.NewFile(uintptr(mfd), "/dev/ptmx")
	if err := unix.IoctlSetPointerInt(mfd, unix.TIOCSPTLCK, 0); err != nil {
		master.Close()
		return nil, nil, fmt.Errorf("unlock pty: %w", err)
	}
	// TIOCGPTPEER opens the peer through the master, immune to a /dev/pts
	// lookup race.
	sfd, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(mfd), unix.TIOCGPTPEER, unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC)
	if errno != 0 {
		err = errno
		master.Close()
		return nil, nil, fmt.Errorf("open pty peer: %w", err)
	}
	return master, os.NewFile(sfd, "pty-slave"), nil
}

func setWinsize(f *os.File, s Size) error {
	return unix.IoctlSetWinsize(int(f.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: s.Rows, Col: s.Cols})
}
