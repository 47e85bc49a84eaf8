package stack

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestDotEnvFillsWhatTheEnvironmentLeavesUnset(t *testing.T) {
	dir := write(t, map[string]string{
		"compose.yaml": `services:
  web:
    image: "web:${TAG}"
    environment:
      FROM_DOTENV: "${ONLY_IN_DOTENV}"
      SHELL_WINS: "${BOTH}"
      SET_WINS: "${OVERRIDDEN}"
`,
		".env": "TAG=1.2\nONLY_IN_DOTENV=dotenv\nBOTH=dotenv\nOVERRIDDEN=dotenv\n",
	})
	st, _ := load(t, LoadOptions{
		Files:     []string{filepath.Join(dir, "compose.yaml")},
		LookupEnv: env("BOTH", "shell", "OVERRIDDEN", "shell"),
		Set:       map[string]string{"OVERRIDDEN": "set"},
	})
	web := st.Service("web")
	want := map[string]string{"FROM_DOTENV": "dotenv", "SHELL_WINS": "shell", "SET_WINS": "set"}
	for k, v := range want {
		if web.Environment[k] != v {
			t.Errorf("%s = %q, want %q", k, web.Environment[k], v)
		}
	}
	if web.Image != "web:1.2" {
		t.Errorf("image %q", web.Image)
	}
	// .env feeds interpolation only: its entries are not container
	// environment unless the file asks for them.
	if _, ok := web.Environment["TAG"]; ok {
		t.Error(".env leaked into the container environment")
	}
}

func TestBadDotEnv(t *testing.T) {
	dir := write(t, map[string]string{
		"compose.yaml": "services: {web: {image: x}}\n",
		".env":         "A=\"unterminated\n",
	})
	err := loadErr(t, LoadOptions{Files: []string{filepath.Join(dir, "compose.yaml")}})
	if !strings.Contains(err.Error(), ".env") {
		t.Errorf("error does not name .env: %v", err)
	}
}

func TestProfiles(t *testing.T) {
	dir := write(t, map[string]string{"compose.yaml": `services:
  web: {image: web}
  debug: {image: debug, profiles: [dev]}
  admin: {image: admin, profiles: [ops, dev], depends_on: [web]}
  tools: {image: tools, depends_on: {debug: {condition: service_started, required: false}}}
`})
	f := filepath.Join(dir, "compose.yaml")
	names := func(st *Stack) string {
		var n []string
		for _, s := range st.Services {
			n = append(n, s.Name)
		}
		return strings.Join(n, ",")
	}
	if st, _ := load(t, LoadOptions{Files: []string{f}}); names(st) != "tools,web" {
		t.Errorf("no profile: %s", names(st))
	} else if len(st.Service("tools").DependsOn) != 0 {
		t.Errorf("optional dependency on a disabled service kept: %v", st.Service("tools").DependsOn)
	}
	if st, _ := load(t, LoadOptions{Files: []string{f}, Profiles: []string{"dev"}}); names(st) != "debug,tools,web,admin" {
		t.Errorf("dev: %s", names(st))
	}
	if st, _ := load(t, LoadOptions{Files: []string{f}, Profiles: []string{"ops"}}); names(st) != "tools,web,admin" {
		t.Errorf("ops: %s", names(st))
	}
	if st, _ := load(t, LoadOptions{Files: []string{f}, LookupEnv: env("COMPOSE_PROFILES", "ops")}); names(st) != "tools,web,admin" {
		t.Errorf("COMPOSE_PROFILES=ops: %s", names(st))
	}
}
