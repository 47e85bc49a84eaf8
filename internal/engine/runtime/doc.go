// Package runtime turns a container description into an OCI runtime spec
// hardened like Docker's defaults, and drives runc: a small per-container
// supervisor (cmd/berth-shim, or "berth shim") runs the container, captures its output into
// rotated JSON-lines logs and records how it exited, so containers outlive
// the daemon and a restarted daemon can adopt them again.
//
// Layout of a container directory (the OCI bundle):
//
//	config.json  the runtime spec (WriteSpec)
//	shim.json    the supervisor's pid and start time
//	init.json    the container init's host pid and start time
//	exit.json    how the container ended (written last, atomically)
//	shim.log     the supervisor's own diagnostics
//	runc.log     runc's diagnostics
package runtime
