package benchkit

import "syscall"

// ChildProcAttr makes the kernel kill a child (a server, dockerd, a build
// command) if the driver itself dies, even by SIGKILL, so nothing outlives an
// aborted run.
func ChildProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
