package cliflag

import (
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/berth-dev/berth/internal/progress"
)

func TestEnvironmentDeprecatedEnvWarnsOnce(t *testing.T) {
	fl := pflag.NewFlagSet("x", pflag.ContinueOnError)
	var e Environment
	e.Add(fl)
	if err := fl.Parse([]string{"--env", "prod"}); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for range 2 {
		if got, err := e.Resolve(&b); err != nil || got != "prod" {
			t.Fatalf("Resolve = %q, %v", got, err)
		}
	}
	if n := strings.Count(b.String(), "deprecated"); n != 1 {
		t.Errorf("%d warnings: %q", n, b.String())
	}
	e.Name = "staging"
	if _, err := e.Resolve(&b); err == nil || !strings.Contains(err.Error(), "disagree") {
		t.Errorf("disagreeing flags: %v", err)
	}
}

func TestTimeoutTakesSecondsAndDurations(t *testing.T) {
	fl := pflag.NewFlagSet("x", pflag.ContinueOnError)
	var d time.Duration
	TimeoutVarP(fl, &d, "timeout", "t", 2*time.Minute, "")
	if d != 2*time.Minute {
		t.Fatalf("default %v", d)
	}
	for in, want := range map[string]time.Duration{"30": 30 * time.Second, "1m": time.Minute} {
		if err := fl.Set("timeout", in); err != nil || d != want {
			t.Errorf("--timeout %s = %v, %v; want %v", in, d, err, want)
		}
	}
	if err := fl.Set("timeout", "soon"); err == nil {
		t.Error("--timeout soon accepted")
	}
}

func TestParseSet(t *testing.T) {
	got, err := ParseSet([]string{"A=1", "B=x=y", "C="})
	if err != nil || got["A"] != "1" || got["B"] != "x=y" || got["C"] != "" {
		t.Errorf("ParseSet = %v, %v", got, err)
	}
	if _, err := ParseSet([]string{"=1"}); err == nil || !strings.Contains(err.Error(), `--set "=1": want KEY=VALUE`) {
		t.Errorf("=1: %v", err)
	}
}

func TestNamedArraysStillRead(t *testing.T) {
	root := &cobra.Command{Use: "root"}
	sub := &cobra.Command{Use: "sub"}
	root.AddCommand(sub)
	var files, other []string
	sub.Flags().StringArrayVar(&files, "file", nil, "")
	sub.Flags().StringArrayVar(&other, "thing", nil, "")
	NameArrays(root)
	if got := sub.Flags().Lookup("file").Value.Type(); got != "FILE" {
		t.Errorf("file type %q", got)
	}
	if got := sub.Flags().Lookup("thing").Value.Type(); got != "VALUE" {
		t.Errorf("thing type %q", got)
	}
	_ = sub.Flags().Set("file", "a.yaml")
	if got := Array(sub, "file"); len(got) != 1 || got[0] != "a.yaml" {
		t.Errorf("Array = %v", got)
	}
	if Array(sub, "missing") != nil {
		t.Error("missing flag read")
	}
}

func TestProgressFlag(t *testing.T) {
	fl := pflag.NewFlagSet("x", pflag.ContinueOnError)
	var p Progress
	p.Add(fl)
	var b strings.Builder
	for _, c := range []struct {
		args       []string
		resultOnly bool
		want       progress.Mode
	}{
		{nil, false, progress.Plain}, // auto, and a Builder is no terminal
		{nil, true, progress.Quiet},
		{[]string{"--progress", "json"}, true, progress.JSON},
		{[]string{"--progress", "tty"}, false, progress.TTY},
	} {
		if err := fl.Parse(c.args); err != nil {
			t.Fatal(err)
		}
		r, err := p.Renderer(&b, c.resultOnly)
		if err != nil || r.Mode() != c.want {
			t.Errorf("%q (result only %v): %v, %v; want %s", c.args, c.resultOnly, r, err, c.want)
		}
	}
	if err := fl.Parse([]string{"--progress", "fancy"}); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Renderer(&b, false); err == nil || !strings.Contains(err.Error(), "--progress \"fancy\"") {
		t.Errorf("bad mode: %v", err)
	}
}

func TestImageFlags(t *testing.T) {
	fl := pflag.NewFlagSet("x", pflag.ContinueOnError)
	var f Image
	f.Add(fl)
	if err := fl.Parse([]string{"--platform", "linux/arm64/v8", "--insecure"}); err != nil {
		t.Fatal(err)
	}
	o, err := f.Options()
	if err != nil || !o.Insecure || o.Platform == nil || o.Platform.Architecture != "arm64" || o.Platform.Variant != "v8" {
		t.Fatalf("Options = %+v, %v", o, err)
	}
	f.Platform = "linux"
	if _, err := f.Options(); err == nil || !strings.HasPrefix(err.Error(), "--platform: ") {
		t.Errorf("bad platform: %v", err)
	}
}
