package stack

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestBadComposeFilesNameFileLineAndField(t *testing.T) {
	for _, tc := range []struct {
		name, yaml string
		want       []string // substrings of the error
	}{
		{"unknown field", "services:\n  web:\n    image: x\n    imgae: y\n",
			[]string{"compose.yaml:4:5: services.web: unknown field \"imgae\""}},
		{"unknown top-level field", "services:\n  web:\n    image: x\nfoo: 1\n",
			[]string{"compose.yaml:4:1: unknown field \"foo\""}},
		{"wrong type", "services:\n  web:\n    image: x\n    ports: 80\n",
			[]string{"compose.yaml:4:5: services.web.ports: must be a array"}},
		{"bad port", "services:\n  web:\n    image: x\n    ports: [\"8080:80\", \"abc:80\"]\n",
			[]string{"compose.yaml:4:24: services.web.ports[1]", "abc"}},
		{"port out of range", "services:\n  web:\n    image: x\n    ports: [\"99999:80\"]\n",
			[]string{"compose.yaml:4:13: services.web.ports[0]", "99999"}},
		{"cycle", "services:\n  web:\n    image: x\n    depends_on: [db]\n  db:\n    image: x\n    depends_on: [web]\n",
			[]string{"compose.yaml:", "depends_on", "cycle", "db -> web -> db"}},
		{"bad duration", "services:\n  web:\n    image: x\n    healthcheck: {test: [CMD, x], interval: 5 parsecs}\n",
			[]string{"compose.yaml:4:35: services.web.healthcheck.interval", "parsecs"}},
		{"bad number", "services:\n  web:\n    image: x\n    deploy: {replicas: many}\n",
			[]string{"compose.yaml:4:14: services.web.deploy.replicas", "many"}},
		{"required variable", "services:\n  web:\n    image: \"${TAG:?set TAG}\"\n",
			[]string{"compose.yaml:3:5: services.web.image", "set TAG"}},
		{"invalid yaml", "services:\n  web:\n    image: x\n   bad: yaml\n",
			[]string{"compose.yaml:3:4: invalid YAML: did not find expected key"}},
		{"undefined secret", "services:\n  web:\n    image: x\n    secrets: [nope]\n",
			[]string{"compose.yaml:2:3: services.web", "undefined secret nope"}},
		{"undefined service", "services:\n  web:\n    image: x\n    depends_on: [db]\n",
			[]string{"compose.yaml:2:3: services.web", "undefined service \"db\""}},
		{"no image", "services:\n  web:\n    command: [x]\n",
			[]string{"compose.yaml:2:3: services.web", "neither an image nor a build"}},
		{"bad restart", "services:\n  web:\n    image: x\n    restart: sometimes\n",
			[]string{"compose.yaml:4:5: services.web.restart", "sometimes"}},
		{"external secret", "services:\n  web:\n    image: x\n    secrets: [s]\nsecrets:\n  s: {external: true}\n",
			[]string{"compose.yaml:6:3: secrets.s: external secrets are not supported"}},
		{"relative target", "services:\n  web:\n    image: x\n    volumes: [{type: volume, source: v, target: rel}]\nvolumes: {v: {}}\n",
			[]string{"compose.yaml:4:15: services.web.volumes[0]"}},
		{"sctp", "services:\n  web:\n    image: x\n    ports: [\"80:80/sctp\"]\n",
			[]string{"compose.yaml:4:13: services.web.ports[0]", "sctp"}},
		{"empty", "", []string{"compose.yaml", "empty compose file"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := write(t, map[string]string{"compose.yaml": tc.yaml})
			t.Chdir(dir)
			err := loadErr(t, LoadOptions{Files: []string{"compose.yaml"}})
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\n  does not contain %q", err, w)
				}
			}
		})
	}
}

func TestErrorsNameTheOverrideFile(t *testing.T) {
	dir := write(t, map[string]string{
		"compose.yaml":          "services:\n  web:\n    image: x\n",
		"compose.override.yaml": "services:\n  web:\n    bogus: 1\n",
	})
	t.Chdir(dir)
	err := loadErr(t, LoadOptions{})
	if !strings.Contains(err.Error(), "compose.override.yaml:3:5: services.web: unknown field \"bogus\"") {
		t.Errorf("got %v", err)
	}
}

func TestMissingFile(t *testing.T) {
	err := loadErr(t, LoadOptions{Files: []string{filepath.Join(t.TempDir(), "nope.yaml")}})
	if !strings.Contains(err.Error(), "nope.yaml") {
		t.Errorf("got %v", err)
	}
	t.Chdir(t.TempDir())
	err = loadErr(t, LoadOptions{})
	if !strings.Contains(err.Error(), "no berth.yaml or compose file") {
		t.Errorf("got %v", err)
	}
}

func TestProjectName(t *testing.T) {
	dir := write(t, map[string]string{"compose.yaml": "name: fromfile\nservices: {web: {image: x}}\n"})
	f := filepath.Join(dir, "compose.yaml")
	if st, _ := load(t, LoadOptions{Files: []string{f}}); st.Name != "fromfile" || st.Networks["default"].Name != "fromfile_default" {
		t.Errorf("name %q networks %v", st.Name, st.Networks)
	}
	if st, _ := load(t, LoadOptions{Files: []string{f}, ProjectName: "given"}); st.Name != "given" {
		t.Errorf("name %q", st.Name)
	}
	err := loadErr(t, LoadOptions{Files: []string{f}, ProjectName: "Bad Name"})
	if !strings.Contains(err.Error(), `invalid project name "Bad Name"`) {
		t.Errorf("got %v", err)
	}
}
