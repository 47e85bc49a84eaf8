//go:build !linux

package main

import "syscall"

// childProcAttr has no parent-death signal outside Linux; buildbench's deferred
// stop still kills servers on every normal or interrupted exit.
func childProcAttr() *syscall.SysProcAttr { return nil }
