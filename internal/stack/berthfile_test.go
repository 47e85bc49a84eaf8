package stack

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

const berthYAML = `vars:
  TAG: "1.0"
  PORT: "8080"
  DOMAIN: example.test
images:
  app:
    layers:
      - name: etc
        paths: [{path: /etc/app, type: directory}]
    variants:
      dev:
        layers:
          - name: debug
            paths: [{path: /debug, type: directory}]
services:
  web:
    build: app
    image: registry.local/app:${TAG}
    ports: ["127.0.0.1:${PORT}:8080"]
    environment:
      URL: https://${DOMAIN}/
      LEVEL: info
    depends_on: [db]
  worker:
    build: {image: app, variant: dev}
    replicas: 2
    volumes: [state:/state]
    secrets: [token]
  db:
    image: postgres:16
    build: ./db
volumes:
  state: {}
secrets:
  token: {file: ./token.txt}
environments:
  prod:
    vars:
      DOMAIN: prod.example
      TAG: "2.0"
    services:
      web:
        replicas: 3
        image: registry.local/app:${TAG}-prod
        environment:
          LEVEL: warn
          EXTRA: "yes"
  staging:
    vars: {DOMAIN: staging.example}
`

func TestBerthYAMLServicesVarsAndBuild(t *testing.T) {
	dir := write(t, map[string]string{"berth.yaml": berthYAML})
	st, warns := load(t, LoadOptions{Files: []string{filepath.Join(dir, "berth.yaml")}})
	if len(warns) != 0 {
		t.Errorf("warnings: %v", warns)
	}
	if st.Name != filepath.Base(dir) && !strings.HasPrefix(filepath.Base(dir), st.Name) {
		t.Errorf("name %q for dir %s", st.Name, dir)
	}
	var names []string
	for _, s := range st.Services {
		names = append(names, s.Name)
	}
	if strings.Join(names, ",") != "db,web,worker" {
		t.Errorf("order %v", names)
	}
	web := st.Service("web")
	if web.Image != "registry.local/app:1.0" || web.Ports[0] != (Port{HostIP: "127.0.0.1", HostPort: 8080, ContainerPort: 8080, Protocol: "tcp"}) {
		t.Errorf("web image %q ports %+v", web.Image, web.Ports)
	}
	if web.Environment["URL"] != "https://example.test/" || web.Replicas != 1 {
		t.Errorf("web env %v replicas %d", web.Environment, web.Replicas)
	}
	if web.Build == nil || !reflect.DeepEqual(*web.Build, Build{Image: "app"}) {
		t.Errorf("web build %+v", web.Build)
	}
	worker := st.Service("worker")
	if worker.Build == nil || !reflect.DeepEqual(*worker.Build, Build{Image: "app", Variant: "dev"}) || worker.Replicas != 2 {
		t.Errorf("worker build %+v replicas %d", worker.Build, worker.Replicas)
	}
	if st.Volumes["state"].Name == "" || !strings.HasSuffix(st.Secrets["token"].File, "/token.txt") {
		t.Errorf("volumes %v secrets %v", st.Volumes, st.Secrets)
	}
	db := st.Service("db")
	if db.Build == nil || db.Build.Image != "" || db.Build.Context != filepath.Join(dir, "db") {
		t.Errorf("db build (a Dockerfile directory) %+v", db.Build)
	}
}

func TestBerthYAMLVariablePrecedence(t *testing.T) {
	dir := write(t, map[string]string{"berth.yaml": berthYAML})
	f := filepath.Join(dir, "berth.yaml")
	// Environment beats vars:, --set beats both.
	st, _ := load(t, LoadOptions{Files: []string{f}, LookupEnv: env("TAG", "env", "PORT", "9090"), Set: map[string]string{"TAG": "set"}})
	web := st.Service("web")
	if web.Image != "registry.local/app:set" || web.Ports[0].HostPort != 9090 {
		t.Errorf("image %q port %d", web.Image, web.Ports[0].HostPort)
	}
}

func TestBerthYAMLEnvironmentOverride(t *testing.T) {
	dir := write(t, map[string]string{"berth.yaml": berthYAML})
	f := filepath.Join(dir, "berth.yaml")
	st, _ := load(t, LoadOptions{Files: []string{f}, Env: "prod"})
	web := st.Service("web")
	if web.Replicas != 3 || web.Image != "registry.local/app:2.0-prod" {
		t.Errorf("replicas %d image %q", web.Replicas, web.Image)
	}
	// environment: merges by key, as compose override files do.
	want := map[string]string{"URL": "https://prod.example/", "LEVEL": "warn", "EXTRA": "yes"}
	for k, v := range want {
		if web.Environment[k] != v {
			t.Errorf("env %s = %q, want %q (all: %v)", k, web.Environment[k], v, web.Environment)
		}
	}
	if st.Service("worker").Replicas != 2 {
		t.Error("an override of web changed worker")
	}

	// The OS environment still beats the environment's vars.
	st, _ = load(t, LoadOptions{Files: []string{f}, Env: "prod", LookupEnv: env("DOMAIN", "shell.example")})
	if got := st.Service("web").Environment["URL"]; got != "https://shell.example/" {
		t.Errorf("URL %q", got)
	}

	// An environment with only vars changes interpolation only.
	st, _ = load(t, LoadOptions{Files: []string{f}, Env: "staging"})
	if got := st.Service("web").Environment["URL"]; got != "https://staging.example/" || st.Service("web").Replicas != 1 {
		t.Errorf("staging URL %q", got)
	}
}

func TestBerthYAMLErrors(t *testing.T) {
	for _, tc := range []struct {
		name, yaml string
		o          LoadOptions
		want       []string
	}{
		{"unknown environment", berthYAML, LoadOptions{Env: "qa"},
			[]string{`unknown environment "qa" (known: prod, staging)`}},
		{"override of unknown service", berthYAML + "  typo:\n    services:\n      wbe: {replicas: 2}\n", LoadOptions{Env: "typo"},
			[]string{"berth.yaml:52:7: environments.typo.services", `no service "wbe"`}},
		{"unknown environment key", strings.Replace(berthYAML, "  staging:\n", "  staging:\n    registy: 127.0.0.1:5000\n", 1), LoadOptions{Env: "staging"},
			[]string{`berth.yaml:49:5: environments.staging: unknown field "registy" (fields: acme, kubernetes, policy, registry, repository, services, vars)`}},
		{"unknown field in a service", strings.Replace(berthYAML, "    depends_on: [db]\n", "    depends_on: [db]\n    imgae: x\n", 1), LoadOptions{},
			[]string{`berth.yaml:24:5: services.web: unknown field "imgae"`}},
		{"unknown field in an override", strings.Replace(berthYAML, "        replicas: 3\n", "        replicas: 3\n        bogus: 1\n", 1), LoadOptions{Env: "prod"},
			[]string{`berth.yaml:44:9: environments.prod.services.web: unknown field "bogus"`}},
		{"unknown image", strings.Replace(berthYAML, "{image: app, variant: dev}", "{image: nope}", 1), LoadOptions{},
			[]string{"berth.yaml:25:20: services.worker.build.image", `no image "nope" in images: (known: app)`}},
		{"unknown variant", strings.Replace(berthYAML, "variant: dev}", "variant: prod2}", 1), LoadOptions{},
			[]string{"services.worker.build.variant", `no variant "prod2"`}},
		{"replicas twice", strings.Replace(berthYAML, "    replicas: 2\n", "    replicas: 2\n    deploy: {replicas: 3}\n", 1), LoadOptions{},
			[]string{"berth.yaml:26:5: services.worker.replicas: replicas and deploy.replicas are both set"}},
		{"bad port", strings.Replace(berthYAML, "${PORT}:8080", "${PORT}:http", 1), LoadOptions{},
			[]string{"berth.yaml:19:13: services.web.ports[0]: invalid containerPort: http"}},
		{"no services", "images: {}\n", LoadOptions{}, []string{"berth.yaml: no services:"}},
		{"spec error", "images:\n  app: {zzz: 1}\nservices:\n  web: {image: x}\n", LoadOptions{}, []string{"berth.yaml:2:9: images.app: unknown field \"zzz\""}},
		{"env with compose file", "", LoadOptions{Env: "prod", Files: []string{"compose.yaml"}}, []string{"--env prod", "compose file"}},
		{"bad --set", berthYAML, LoadOptions{Set: map[string]string{"1X": "y"}}, []string{"--set 1X"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := write(t, map[string]string{"berth.yaml": tc.yaml, "compose.yaml": "services: {web: {image: x}}\n"})
			t.Chdir(dir)
			if tc.o.Files == nil {
				tc.o.Files = []string{"berth.yaml"}
			}
			err := loadErr(t, tc.o)
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\n  does not contain %q", err, w)
				}
			}
		})
	}
}

func TestBerthYAMLComposeKeysHiddenFromSpec(t *testing.T) {
	// volumes:/secrets:/configs:/networks: are compose's; spec's line
	// numbers for errors after them must stay right.
	y := "services:\n  web: {image: x, networks: [n]}\nnetworks:\n  n: {}\nconfigs:\n  c: {content: hi}\nimages:\n  app: {zzz: 1}\n"
	dir := write(t, map[string]string{"berth.yaml": y})
	err := loadErr(t, LoadOptions{Files: []string{filepath.Join(dir, "berth.yaml")}})
	if !strings.Contains(err.Error(), "berth.yaml:8:9: images.app: unknown field \"zzz\"") {
		t.Errorf("got %v", err)
	}
	y = strings.Replace(y, "{zzz: 1}", "{}", 1)
	dir = write(t, map[string]string{"berth.yaml": y})
	st, _ := load(t, LoadOptions{Files: []string{filepath.Join(dir, "berth.yaml")}})
	if st.Configs["c"].Content != "hi" || st.Networks["n"].Name == "" || st.Service("web").Networks[0] != "n" {
		t.Errorf("configs %v networks %v", st.Configs, st.Networks)
	}
}

func TestBerthYAMLAnchorsAndNamedByContent(t *testing.T) {
	// A file not named berth.yaml is still one when it has berth keys;
	// anchors defined outside services: resolve.
	y := "x-env: &env {A: \"1\"}\nvars: {V: v}\nservices:\n  web:\n    image: x:${V}\n    environment: *env\n"
	dir := write(t, map[string]string{"stack.yaml": y})
	st, _ := load(t, LoadOptions{Files: []string{filepath.Join(dir, "stack.yaml")}})
	if web := st.Service("web"); web.Image != "x:v" || web.Environment["A"] != "1" {
		t.Errorf("web %+v", web)
	}
}
