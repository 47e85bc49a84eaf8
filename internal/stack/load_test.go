package stack

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files")

// env makes a LookupEnv over a fixed map, so tests do not depend on the
// machine's environment.
func env(kv ...string) func(string) (string, bool) {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

// write creates files (name → content) in a fresh directory.
func write(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func load(t *testing.T, o LoadOptions) (*Stack, []Warning) {
	t.Helper()
	if o.LookupEnv == nil {
		o.LookupEnv = env()
	}
	st, warns, err := Load(context.Background(), o)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return st, warns
}

func loadErr(t *testing.T, o LoadOptions) error {
	t.Helper()
	if o.LookupEnv == nil {
		o.LookupEnv = env()
	}
	st, _, err := Load(context.Background(), o)
	if err == nil {
		t.Fatalf("Load succeeded, want an error; stack: %+v", st)
	}
	return err
}

func TestComposeEverySupportedField(t *testing.T) {
	dir, _ := filepath.Abs("testdata/full")
	st, warns := load(t, LoadOptions{
		Files:     []string{filepath.Join(dir, "compose.yaml")},
		LookupEnv: env("FROM_SHELL", "shell", "WEB_TAG", "2.1", "MIME_TYPES", "text/html html"),
	})
	if len(warns) != 0 {
		t.Errorf("warnings for supported fields: %v", warns)
	}
	got, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = bytes.ReplaceAll(got, []byte(dir), []byte("$DIR"))
	got = append(got, '\n')
	golden := filepath.Join("testdata", "full", "stack.golden.json")
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -run TestComposeEverySupportedField -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("stack differs from %s (go test -update rewrites it):\n%s", golden, got)
	}

	// The JSON form reads back into the same Stack (the daemon's API
	// carries it).
	var back Stack
	if err := json.Unmarshal(bytes.ReplaceAll(got, []byte("$DIR"), []byte(dir)), &back); err != nil {
		t.Fatal(err)
	}
	again, _ := json.MarshalIndent(&back, "", "  ")
	again = append(bytes.ReplaceAll(again, []byte(dir), []byte("$DIR")), '\n')
	if !bytes.Equal(again, got) {
		t.Errorf("JSON round trip changed the stack:\n%s", again)
	}
}
