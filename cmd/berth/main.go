// Command berth is one binary for immutable container infrastructure:
// build images, store them in its own registry, run and deploy them.
package main

import (
	"fmt"
	"os"
)

func main() {
	if err := newRootCommand().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "berth:", err)
		os.Exit(1)
	}
}
