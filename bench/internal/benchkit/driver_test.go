package benchkit

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

type testOptions struct {
	Flags
	n int
}

func parseTest(args []string, stderr io.Writer) (testOptions, error) {
	var o testOptions
	fs := flag.NewFlagSet("kittest", flag.ContinueOnError)
	fs.SetOutput(stderr)
	o.Register(fs, "logs")
	fs.IntVar(&o.n, "n", 1, "a number")
	return o, fs.Parse(args)
}

func TestRegisterDefaultsFromEnvironment(t *testing.T) {
	t.Setenv("KITTEST_MD", "/tmp/x.md")
	o, err := parseTest([]string{"-json", "y.json", "-enforce"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if o.MD != "/tmp/x.md" || o.JSON != "y.json" || !o.Enforce || o.Keep {
		t.Errorf("flags %+v", o.Flags)
	}
	var help bytes.Buffer
	parseTest([]string{"-h"}, &help)
	if !strings.Contains(help.String(), "keep the temporary directory (logs)") || !strings.Contains(help.String(), "env KITTEST_JSON") {
		t.Errorf("usage:\n%s", help.String())
	}
}

func TestRunExitStatus(t *testing.T) {
	dir := t.TempDir()
	md, js := filepath.Join(dir, "r.md"), filepath.Join(dir, "r.json")
	for _, tc := range []struct {
		name  string
		args  []string
		res   Result
		err   error
		code  int
		inErr string
	}{
		{name: "clean", args: []string{"-md", md, "-json", js}, res: Result{Markdown: "# ok\n", Data: map[string]int{"a": 1}}, code: 0},
		{name: "missed without -enforce", res: Result{Missed: true}, code: 0},
		{name: "missed with -enforce", args: []string{"-enforce"}, res: Result{Missed: true}, code: 1},
		{name: "flagged", res: Result{Flagged: true}, code: 1},
		{name: "bench failed", err: errors.New("no dockerd"), code: 2, inErr: "kittest: no dockerd"},
		{name: "bad flag", args: []string{"-n", "x"}, code: 2, inErr: "invalid value"},
		{name: "help", args: []string{"-h"}, code: 2, inErr: "Usage of kittest"},
		{name: "unwritable report", args: []string{"-md", filepath.Join(dir, "no", "r.md")}, code: 2, inErr: "kittest: write -md"},
	} {
		var stdout, stderr bytes.Buffer
		code := Run(context.Background(), "kittest", tc.args, &stdout, &stderr, parseTest,
			func(ctx context.Context, o testOptions, progress io.Writer) (Result, error) { return tc.res, tc.err })
		if code != tc.code || !strings.Contains(stderr.String(), tc.inErr) {
			t.Errorf("%s: exit %d, stderr %q; want %d and %q", tc.name, code, stderr.String(), tc.code, tc.inErr)
		}
		if tc.code != 2 && stdout.String() != tc.res.Markdown {
			t.Errorf("%s: stdout %q, want the Markdown", tc.name, stdout.String())
		}
	}
	if b, err := os.ReadFile(md); err != nil || string(b) != "# ok\n" {
		t.Errorf("-md file: %q %v", b, err)
	}
	var data map[string]int
	if b, err := os.ReadFile(js); err != nil || json.Unmarshal(b, &data) != nil || data["a"] != 1 {
		t.Errorf("-json file: %q %v", b, err)
	}
}

func TestWorkDir(t *testing.T) {
	parent := t.TempDir()
	var progress bytes.Buffer
	dir, done, err := WorkDir(parent, "kittest", false, &progress)
	if err != nil || filepath.Dir(dir) != parent || !strings.HasPrefix(filepath.Base(dir), "kittest-") {
		t.Fatalf("WorkDir = %q, %v", dir, err)
	}
	done()
	if _, err := os.Stat(dir); !os.IsNotExist(err) || progress.Len() != 0 {
		t.Errorf("after done: stat %v, progress %q; want removed, silent", err, progress.String())
	}
	kept, done, err := WorkDir(parent, "kittest", true, &progress)
	if err != nil {
		t.Fatal(err)
	}
	done()
	if _, err := os.Stat(kept); err != nil || progress.String() != "kittest: keeping "+kept+"\n" {
		t.Errorf("with keep: stat %v, progress %q", err, progress.String())
	}
}

func TestProgress(t *testing.T) {
	var b bytes.Buffer
	Progress(&b, "kittest")("step %d of %s", 2, "3")
	if b.String() != "kittest: step 2 of 3\n" {
		t.Errorf("progress line %q", b.String())
	}
}

func TestParseRejectsArguments(t *testing.T) {
	fs := flag.NewFlagSet("kittest", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	n := fs.Int("n", 0, "")
	if err := Parse(fs, []string{"-n", "3"}); err != nil || *n != 3 {
		t.Errorf("Parse -n 3 = %v, n %d", err, *n)
	}
	if err := Parse(fs, []string{"-n", "3", "extra"}); err == nil || !strings.Contains(err.Error(), `unexpected arguments: ["extra"]`) {
		t.Errorf("Parse with an argument = %v", err)
	}
}
