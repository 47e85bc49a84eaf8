package main

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A mistyped subcommand fails (non-zero exit) with a suggestion, at every
// level; it used to print the parent's help and exit 0.
func TestUnknownSubcommandFailsWithSuggestion(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"registry", "serv"}, []string{`unknown command "serv" for "berth registry"`, `did you mean "serve"?`}},
		{[]string{"volume", "lss"}, []string{`unknown command "lss" for "berth volume"`, `did you mean "ls"?`}},
		{[]string{"bulid"}, []string{`unknown command "bulid" for "berth"`, `did you mean "build"?`}},
		{[]string{"completion", "bas"}, []string{`did you mean "bash"?`}},
		// Docker words berth has no command for point at what does the job,
		// not at the nearest spelling (ps, logs, ship).
		{[]string{"push"}, []string{"berth build --push", "berth ship"}},
		{[]string{"stop"}, []string{"berth down"}},
		{[]string{"login"}, []string{"no login", "docker config"}},
	} {
		stdout, _, err := runCLI(t, tc.args...)
		if err == nil {
			t.Errorf("berth %s: no error (stdout %q)", strings.Join(tc.args, " "), stdout)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("berth %s: %q lacks %q", strings.Join(tc.args, " "), err, w)
			}
		}
		for _, bad := range []string{`"ps"`, `"logs"`, `"ship"?`} {
			if strings.Contains(err.Error(), bad) && (tc.args[0] == "push" || tc.args[0] == "login" || tc.args[0] == "stop") {
				t.Errorf("berth %s suggests %s: %v", tc.args[0], bad, err)
			}
		}
	}
	// Without a subcommand a group still shows its help.
	stdout, _, err := runCLI(t, "volume")
	if err != nil || !strings.Contains(stdout, "Available Commands") {
		t.Fatalf("berth volume: %v\n%s", err, stdout)
	}
}

func TestVersionFlag(t *testing.T) {
	stdout, _, err := runCLI(t, "--version")
	if err != nil || !strings.HasPrefix(stdout, "berth "+version+" (go") {
		t.Fatalf("--version: %v %q", err, stdout)
	}
	v, _, _ := runCLI(t, "version")
	if stdout != v {
		t.Errorf("--version %q differs from berth version %q", stdout, v)
	}
}

// Flag help names values, not pflag types ("--set stringArray") or a
// backquoted word of the usage ("--docker-archive docker load").
func TestFlagHelpNamesValues(t *testing.T) {
	for cmd, want := range map[string][]string{
		"build":  {"--docker-archive FILE", "--set KEY=VALUE"},
		"config": {"-f, --file FILE", "--profile NAME", "--set KEY=VALUE"},
		"exec":   {"-e, --env KEY=VALUE"},
		"up":     {"-f, --file FILE"},
	} {
		stdout, _, err := runCLI(t, cmd, "--help")
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(stdout, "stringArray") || strings.Contains(stdout, "docker load  ") || strings.Contains(stdout, "(default [])") {
			t.Errorf("%s --help:\n%s", cmd, stdout)
		}
		for _, w := range want {
			if !strings.Contains(stdout, w) {
				t.Errorf("%s --help lacks %q:\n%s", cmd, w, stdout)
			}
		}
	}
	// Renaming the type keeps the values working.
	dir := t.TempDir()
	f := filepath.Join(dir, "compose.yaml")
	os.WriteFile(f, []byte("services:\n  web:\n    image: ${IMG}\n"), 0o644)
	stdout, stderr, err := runCLI(t, "config", "-f", f, "--set", "IMG=busybox:1")
	if err != nil || !strings.Contains(stdout, "busybox:1") {
		t.Fatalf("config --set: %v %s\n%s", err, stderr, stdout)
	}
}

// The root help groups commands and shows examples of the main workflow.
func TestRootHelpGroupsAndExamples(t *testing.T) {
	stdout, _, err := runCLI(t, "--help")
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"Build and examine images:", "Run stacks on this host:", "Deploy releases:",
		"berth build app --push", "berth up", "berth deploy app", "berth ship", "berth registry serve"} {
		if !strings.Contains(stdout, w) {
			t.Errorf("root help lacks %q:\n%s", w, stdout)
		}
	}
}

func TestCompletionScriptsAndServiceNames(t *testing.T) {
	for _, sh := range []string{"bash", "zsh", "fish"} {
		// cobra's completion command writes to the process's stdout.
		stdout, err := captureStdout(t, func() error { _, _, err := runCLI(t, "completion", sh); return err })
		if err != nil || !strings.Contains(stdout, "__berth_") {
			t.Errorf("completion %s: %v (%d bytes)", sh, err, len(stdout))
		}
	}
	dir := t.TempDir()
	f := filepath.Join(dir, "compose.yaml")
	os.WriteFile(f, []byte("services:\n  web:\n    image: busybox\n  worker:\n    image: busybox\n  db:\n    image: busybox\n"), 0o644)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"__complete", "logs", "--file", f, "w"}, "web\nworker\n:4\n"},
		{[]string{"__complete", "deploy", "-f", f, ""}, "db\nweb\nworker\n:4\n"},
		{[]string{"__complete", "deploy", "-f", f, "web", ""}, ":4\n"}, // one SERVICE only
		{[]string{"__complete", "scale", "-f", f, "d"}, "db=\n:6\n"},
	} {
		stdout, _, err := runCLI(t, tc.args...)
		if err != nil {
			t.Fatal(err)
		}
		if got := stdout[:strings.LastIndex(stdout, ":")] + stdout[strings.LastIndex(stdout, ":"):]; !sameLines(got, tc.want) {
			t.Errorf("%v: got %q, want %q", tc.args, stdout, tc.want)
		}
	}
}

// sameLines compares completion output ignoring the order of the candidates.
func sameLines(got, want string) bool {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	if len(g) != len(w) {
		return false
	}
	seen := map[string]int{}
	for _, l := range g {
		seen[l]++
	}
	for _, l := range w {
		seen[l]--
	}
	for _, n := range seen {
		if n != 0 {
			return false
		}
	}
	return true
}

func TestManPages(t *testing.T) {
	dir := t.TempDir()
	if _, _, err := runCLI(t, "man", dir); err != nil {
		t.Fatal(err)
	}
	for _, page := range []string{"berth.1", "berth-build.1", "berth-registry-serve.1", "berth-volume-ls.1"} {
		b, err := os.ReadFile(filepath.Join(dir, page))
		if err != nil || !strings.Contains(string(b), ".TH") {
			t.Errorf("%s: %v", page, err)
		}
	}
}

func captureStdout(t *testing.T, f func() error) (string, error) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	old := os.Stdout
	os.Stdout = w
	done := make(chan []byte)
	go func() { b, _ := io.ReadAll(r); done <- b }()
	err = f()
	os.Stdout = old
	w.Close()
	return string(<-done), err
}
