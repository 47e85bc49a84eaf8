// Command berth is one binary for immutable container infrastructure:
// build images, store them in its own registry, run and deploy them.
package main

import (
	"fmt"
	"os"
)

func main() {
	if err := newRootCommand().Execute(); err != nil {
		msg, code := describeError(err)
		if msg != "" {
			fmt.Fprintln(os.Stderr, "berth:", msg)
		}
		os.Exit(code)
	}
}
