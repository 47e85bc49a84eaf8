package main

import "syscall"

// childProcAttr makes the kernel kill a child (registry, dockerd or a build command) if
// buildbench itself dies, even by SIGKILL, so nothing outlives an aborted run.
func childProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
