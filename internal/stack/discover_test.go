package stack

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// With no -f, the stack file is found in the nearest parent directory, as
// docker compose finds it, with its override file.
func TestDiscoverParentDirectory(t *testing.T) {
	dir := write(t, map[string]string{
		"compose.yaml":          "services:\n  web:\n    image: busybox:1\n",
		"compose.override.yaml": "services:\n  web:\n    environment:\n      A: b\n",
		"src/deep/x.txt":        "",
	})
	t.Chdir(filepath.Join(dir, "src", "deep"))
	st, _, err := Load(context.Background(), LoadOptions{LookupEnv: env()})
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Files) != 2 || st.Files[0] != filepath.Join(dir, "compose.yaml") || st.Dir != dir {
		t.Fatalf("files %v dir %s", st.Files, st.Dir)
	}
	t.Chdir(t.TempDir())
	_, _, err = Load(context.Background(), LoadOptions{LookupEnv: env()})
	if err == nil || !strings.Contains(err.Error(), "or its parent directories") {
		t.Fatalf("no file anywhere: %v", err)
	}
}

// COMPOSE_FILE names the files (separated like PATH) and
// COMPOSE_PROJECT_NAME the stack, unless -f and -p are given.
func TestComposeFileAndProjectNameEnv(t *testing.T) {
	dir := write(t, map[string]string{
		"a.yaml": "services:\n  web:\n    image: busybox:1\n",
		"b.yaml": "services:\n  worker:\n    image: busybox:1\n",
	})
	t.Chdir(dir)
	lookup := env("COMPOSE_FILE", "a.yaml"+string(os.PathListSeparator)+"b.yaml", "COMPOSE_PROJECT_NAME", "shop")
	st, _, err := Load(context.Background(), LoadOptions{LookupEnv: lookup})
	if err != nil {
		t.Fatal(err)
	}
	if st.Name != "shop" || st.Service("web") == nil || st.Service("worker") == nil {
		t.Fatalf("name %s services %v", st.Name, st.Services)
	}
	st, _, err = Load(context.Background(), LoadOptions{Files: []string{"a.yaml"}, ProjectName: "other", LookupEnv: lookup})
	if err != nil || st.Name != "other" || st.Service("worker") != nil {
		t.Fatalf("-f and -p win: %v %+v", err, st)
	}
	_, _, err = Load(context.Background(), LoadOptions{LookupEnv: env("COMPOSE_FILE", "nosuch.yaml")})
	if err == nil || !strings.Contains(err.Error(), "COMPOSE_FILE=nosuch.yaml") {
		t.Fatalf("missing COMPOSE_FILE file: %v", err)
	}
	// A berth.yaml takes COMPOSE_PROJECT_NAME too.
	bdir := write(t, map[string]string{"berth.yaml": "services:\n  web:\n    image: busybox:1\n"})
	st, _, err = Load(context.Background(), LoadOptions{Files: []string{filepath.Join(bdir, "berth.yaml")}, LookupEnv: env("COMPOSE_PROJECT_NAME", "shop")})
	if err != nil || st.Name != "shop" {
		t.Fatalf("berth.yaml with COMPOSE_PROJECT_NAME: %v %+v", err, st)
	}
}

// --env-file replaces .env for interpolation; berth.yaml refuses it.
func TestEnvFileOption(t *testing.T) {
	dir := write(t, map[string]string{
		"compose.yaml": "services:\n  web:\n    image: busybox:${TAG}\n",
		".env":         "TAG=dotenv\n",
		"prod.env":     "TAG=prod\n",
		"berth.yaml":   "services:\n  web:\n    image: busybox:1\n",
	})
	t.Chdir(dir)
	load := func(envFiles ...string) (*Stack, error) {
		st, _, err := Load(context.Background(), LoadOptions{Files: []string{"compose.yaml"}, EnvFiles: envFiles, LookupEnv: env()})
		return st, err
	}
	if st, err := load(); err != nil || st.Services[0].Image != "busybox:dotenv" {
		t.Fatalf(".env: %v %+v", err, st)
	}
	if st, err := load("prod.env"); err != nil || st.Services[0].Image != "busybox:prod" {
		t.Fatalf("--env-file prod.env: %v %+v", err, st)
	}
	if _, err := load("nosuch.env"); err == nil || !strings.Contains(err.Error(), "nosuch.env") {
		t.Fatalf("missing env file: %v", err)
	}
	_, _, err := Load(context.Background(), LoadOptions{Files: []string{"berth.yaml"}, EnvFiles: []string{"prod.env"}, LookupEnv: env()})
	if err == nil || !strings.Contains(err.Error(), "--env-file prod.env") {
		t.Fatalf("berth.yaml with --env-file: %v", err)
	}
}

// COMPOSE_PROFILES activates profiles when --profile is not given, for
// berth.yaml as for compose files.
func TestComposeProfilesEnv(t *testing.T) {
	for _, name := range []string{"compose.yaml", "berth.yaml"} {
		dir := write(t, map[string]string{name: "services:\n  web:\n    image: busybox:1\n  debug:\n    image: busybox:1\n    profiles: [dev]\n"})
		f := filepath.Join(dir, name)
		st, _, err := Load(context.Background(), LoadOptions{Files: []string{f}, LookupEnv: env()})
		if err != nil || st.Service("debug") != nil {
			t.Fatalf("%s without profiles: %v %+v", name, err, st)
		}
		st, _, err = Load(context.Background(), LoadOptions{Files: []string{f}, LookupEnv: env("COMPOSE_PROFILES", "dev")})
		if err != nil || st.Service("debug") == nil {
			t.Fatalf("%s with COMPOSE_PROFILES=dev: %v %+v", name, err, st)
		}
	}
}
