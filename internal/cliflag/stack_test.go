package cliflag

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

func TestStackFlagsLoadWarnsAndNames(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "compose.yaml")
	// container_name is a compose attribute berth does not support: a warning.
	compose := "name: shop\nservices:\n  web:\n    image: ${IMG}\n    container_name: xy\n"
	if err := os.WriteFile(file, []byte(compose), 0o644); err != nil {
		t.Fatal(err)
	}
	fl := pflag.NewFlagSet("x", pflag.ContinueOnError)
	var f Stack
	f.AddFile(fl, "f")
	f.AddRest(fl)
	if err := fl.Parse([]string{"-f", file, "--set", "IMG=alpine:3.20", "--profile", "debug"}); err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	st, err := f.Load(context.Background(), &stderr)
	if err != nil {
		t.Fatal(err)
	}
	if st.Name != "shop" || len(st.Services) != 1 || st.Services[0].Image != "alpine:3.20" {
		t.Errorf("stack %s %+v", st.Name, st.Services)
	}
	if !strings.Contains(stderr.String(), "container_name") {
		t.Errorf("no warning for container_name on stderr: %q", stderr.String())
	}
	if name, err := f.Name(context.Background(), &stderr); err != nil || name != "shop" {
		t.Errorf("Name = %q, %v", name, err)
	}
	f.Project = "other"
	if name, err := f.Name(context.Background(), &stderr); err != nil || name != "other" {
		t.Errorf("Name with -p = %q, %v", name, err)
	}
	f.Set = []string{"=x"}
	if _, err := f.Load(context.Background(), &stderr); err == nil || !strings.Contains(err.Error(), "want KEY=VALUE") {
		t.Errorf("bad --set: %v", err)
	}
}

// TestStackTarget: -E's environment with the same --set as the stack;
// none without -E.
func TestStackTarget(t *testing.T) {
	file := filepath.Join(t.TempDir(), "berth.yaml")
	os.WriteFile(file, []byte("images:\n  app:\n    layers:\n      - name: etc\n        paths: [{path: /etc/app, type: directory}]\nservices:\n  web: {build: app}\nenvironments:\n  staging:\n    registry: ${REG}\n    repository: team\n"), 0o644)
	f := Stack{Files: []string{file}, Set: []string{"REG=127.0.0.1:5001"}}
	st, err := f.Load(context.Background(), &strings.Builder{})
	if err != nil {
		t.Fatal(err)
	}
	if tg, err := f.Target(st); err != nil || tg != nil {
		t.Errorf("without -E: %+v, %v", tg, err)
	}
	f.Environment.Name = "staging"
	if st, err = f.Load(context.Background(), &strings.Builder{}); err != nil {
		t.Fatal(err)
	}
	tg, err := f.Target(st)
	if err != nil || tg == nil || tg.Env != "staging" || tg.Registry != "127.0.0.1:5001" || tg.Repository != "team" {
		t.Errorf("-E staging: %+v, %v", tg, err)
	}
}

// TestStackForEnvironment: without -E only the name (no stack, so no
// targets: the daemon); with -E (or the old --env) the stack too, named
// by -p when given.
func TestStackForEnvironment(t *testing.T) {
	file := filepath.Join(t.TempDir(), "shop", "berth.yaml")
	os.Mkdir(filepath.Dir(file), 0o755)
	if err := os.WriteFile(file, []byte("images:\n  app:\n    layers:\n      - name: etc\n        paths: [{path: /etc/app, type: directory}]\nservices:\n  web: {build: app}\nenvironments:\n  prod:\n    registry: 127.0.0.1:5001\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, stderr := context.Background(), &strings.Builder{}
	f := Stack{Files: []string{file}}
	name, st, err := f.ForEnvironment(ctx, stderr)
	if err != nil || name != "shop" || st != nil || f.Targets(st) != nil {
		t.Errorf("without -E: %q, %v, %v; want shop, no stack, no targets", name, st, err)
	}
	f.Environment.Name = "prod"
	if name, st, err = f.ForEnvironment(ctx, stderr); err != nil || name != "shop" || st == nil || st.Name != "shop" || f.Env != "prod" {
		t.Errorf("with -E: %q, %v, %v (env %q)", name, st, err, f.Env)
	}
	f.Environment, f.Project = Environment{Old: "prod"}, "other"
	if name, st, err = f.ForEnvironment(ctx, stderr); err != nil || name != "other" || st == nil {
		t.Errorf("with --env and -p: %q, %v, %v", name, st, err)
	}
	f.Files = []string{filepath.Join(t.TempDir(), "missing.yaml")}
	if _, _, err := f.ForEnvironment(ctx, stderr); err == nil {
		t.Error("with -E and a missing file: no error")
	}
}

// TestStackNameIfGiven: none without -p or -f (every stack); -p as it
// is; with -f the file's stack.
func TestStackNameIfGiven(t *testing.T) {
	file := filepath.Join(t.TempDir(), "compose.yaml")
	if err := os.WriteFile(file, []byte("name: shop\nservices:\n  web:\n    image: alpine\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, stderr := context.Background(), &strings.Builder{}
	for _, c := range []struct {
		f    Stack
		want string
	}{{Stack{}, ""}, {Stack{Project: "other"}, "other"}, {Stack{Files: []string{file}}, "shop"}, {Stack{Files: []string{file}, Project: "p"}, "p"}} {
		if got, err := c.f.NameIfGiven(ctx, stderr); err != nil || got != c.want {
			t.Errorf("%+v: %q, %v; want %q", c.f, got, err, c.want)
		}
	}
	bad := Stack{Files: []string{file + ".missing"}}
	if _, err := bad.NameIfGiven(ctx, stderr); err == nil {
		t.Error("missing -f file: no error")
	}
}
