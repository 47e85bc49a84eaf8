// Package cliflag holds the flag values berth's commands share: the
// berth.yaml environment selector, compose-style timeouts, --set
// KEY=VALUE and the value names repeatable flags show in the help.
package cliflag
