package main

import "syscall"

// childProcAttr makes the kernel kill a server if regbench itself dies (even
// by SIGKILL), so no registry outlives an aborted run.
func childProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
