package main

import (
	"testing"

	"github.com/berth-dev/berth/internal/engine/api"
)

// Every client command's --socket reads the same (addSocketFlag).
func TestSocketFlagSameEverywhere(t *testing.T) {
	want := "daemon socket (default $BERTH_SOCKET or " + api.DefaultSocket + ")"
	root := newRootCommand()
	for _, path := range [][]string{{"pull"}, {"images"}, {"rmi"}, {"prune"}, {"volume", "ls"}, {"volume", "rm"}, {"stats"}, {"exec"}} {
		cmd, _, err := root.Find(path)
		if err != nil {
			t.Fatal(err)
		}
		f := cmd.Flags().Lookup("socket")
		if f == nil || f.Usage != want || f.DefValue != "" {
			t.Errorf("%s --socket: %+v", cmd.CommandPath(), f)
		}
	}
}
