//go:build !linux

package benchkit

import "syscall"

// ChildProcAttr has no parent-death signal outside Linux; the drivers'
// deferred stops still kill their children on every normal or interrupted
// exit.
func ChildProcAttr() *syscall.SysProcAttr { return nil }
