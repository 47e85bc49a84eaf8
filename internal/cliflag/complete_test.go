package cliflag

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/spf13/cobra"
)

// TestCompleteServices: the services of the stack the command's own flags
// name (read back by name), at most max arguments, SERVICE= with assign;
// a file that does not load completes nothing, as an error.
func TestCompleteServices(t *testing.T) {
	file := filepath.Join(t.TempDir(), "compose.yaml")
	os.WriteFile(file, []byte("services:\n  web:\n    image: ${IMG}\n  worker:\n    image: busybox:1\n  db:\n    image: busybox:1\n"), 0o644)
	newCmd := func() *cobra.Command {
		var f Stack
		cmd := &cobra.Command{Use: "x"}
		f.AddFile(cmd.Flags(), "f")
		f.AddRest(cmd.Flags())
		NameArrays(cmd)
		cmd.SetContext(context.Background())
		return cmd
	}
	cmd := newCmd()
	if err := cmd.ParseFlags([]string{"-f", file, "--set", "IMG=alpine:3", "-p", "shop"}); err != nil {
		t.Fatal(err)
	}
	if f := StackFromFlags(cmd); !slices.Equal(f.Files, []string{file}) || f.Project != "shop" || !slices.Equal(f.Set, []string{"IMG=alpine:3"}) {
		t.Fatalf("StackFromFlags = %+v", f)
	}
	got, d := CompleteServices(0, false)(cmd, nil, "w")
	if !slices.Equal(got, []cobra.Completion{"web", "worker"}) || d != cobra.ShellCompDirectiveNoFileComp {
		t.Errorf("any number: %v %v", got, d)
	}
	if got, _ := CompleteServices(1, false)(cmd, []string{"web"}, ""); got != nil {
		t.Errorf("past max: %v", got)
	}
	got, d = CompleteServices(0, true)(cmd, nil, "d")
	if !slices.Equal(got, []cobra.Completion{"db="}) || d != cobra.ShellCompDirectiveNoFileComp|cobra.ShellCompDirectiveNoSpace {
		t.Errorf("assign: %v %v", got, d)
	}
	bad := newCmd()
	if err := bad.ParseFlags([]string{"-f", filepath.Join(t.TempDir(), "none.yaml")}); err != nil {
		t.Fatal(err)
	}
	if got, d := CompleteServices(0, false)(bad, nil, ""); got != nil || d&cobra.ShellCompDirectiveError == 0 {
		t.Errorf("missing file: %v %v", got, d)
	}
}
