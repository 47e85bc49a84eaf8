package progress

import (
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

// Auto is tty on a real terminal (a pseudo-terminal here), plain on a file.
func TestAutoOnATerminal(t *testing.T) {
	mfd, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals: %v", err)
	}
	master := os.NewFile(uintptr(mfd), "ptmx")
	defer master.Close()
	if err := unix.IoctlSetPointerInt(mfd, unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	sfd, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(mfd), unix.TIOCGPTPEER, unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC)
	if errno != 0 {
		t.Skipf("TIOCGPTPEER: %v", errno)
	}
	slave := os.NewFile(sfd, "pty")
	defer slave.Close()
	if m := New(slave, Auto).Mode(); m != TTY {
		t.Errorf("auto on a terminal = %s, want tty", m)
	}
	f, err := os.Create(t.TempDir() + "/log")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if m := New(f, Auto).Mode(); m != Plain {
		t.Errorf("auto on a file = %s, want plain", m)
	}
}
