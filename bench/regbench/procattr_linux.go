package main

import "syscall"

// childProcAttr makes the kernel kill a child (server or regload) if
// regbench itself dies, even by SIGKILL, so nothing outlives an aborted run.
func childProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
