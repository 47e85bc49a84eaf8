package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/internal/engine/api"
)

// removeEach says "Removed" for each name removed, joins the other errors
// and stops at once when there is no daemon.
func TestRemoveEach(t *testing.T) {
	var out bytes.Buffer
	cmd := &cobra.Command{}
	cmd.SetOut(&out)
	cmd.SetContext(context.Background())
	err := removeEach(cmd, []string{"a", "b", "c"}, func(_ context.Context, n string) error {
		if n == "b" {
			return fmt.Errorf("%s: in use", n)
		}
		return nil
	})
	if err == nil || err.Error() != "b: in use" || out.String() != "Removed a\nRemoved c\n" {
		t.Errorf("err %v, output %q", err, out.String())
	}
	out.Reset()
	calls := 0
	err = removeEach(cmd, []string{"a", "b"}, func(context.Context, string) error { calls++; return api.ErrNoDaemon })
	if !errors.Is(err, api.ErrNoDaemon) || calls != 1 || out.Len() != 0 {
		t.Errorf("no daemon: err %v, %d calls, output %q", err, calls, out.String())
	}
}

func TestPrintResult(t *testing.T) {
	var b bytes.Buffer
	text := func(w io.Writer) { fmt.Fprintln(w, "text") }
	if err := printResult(&b, true, map[string]int{"n": 1}, text); err != nil || b.String() != "{\n  \"n\": 1\n}\n" {
		t.Errorf("json: %q, %v", b.String(), err)
	}
	b.Reset()
	if err := printResult(&b, false, nil, text); err != nil || b.String() != "text\n" {
		t.Errorf("text: %q, %v", b.String(), err)
	}
}
