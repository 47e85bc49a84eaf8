package spec

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// noEnv keeps tests independent of the machine's environment.
func noEnv(string) (string, bool) { return "", false }

// writeSpec writes content as berth.yaml in a fresh directory.
func writeSpec(t *testing.T, content string) string {
	t.Helper()
	dir := t.TempDir()
	p := filepath.Join(dir, "berth.yaml")
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func mustLoad(t *testing.T, content string, o LoadOptions) *File {
	t.Helper()
	if o.LookupEnv == nil {
		o.LookupEnv = noEnv
	}
	f, err := Load(writeSpec(t, content), o)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return f
}

const repoHeader = `repositories:
  - {name: bookworm, url: "http://deb.example/debian", suite: bookworm}
  - {name: security, url: "https://deb.example/security", suite: bookworm-security, components: [main, contrib]}
`

func TestLoadFull(t *testing.T) {
	f := mustLoad(t, repoHeader+`vars:
  VERSION: "1.2.3"
images:
  base:
    from: scratch
    platform: linux/arm64/v8
    layers:
      - name: os
        debs: {packages: [base-files, libc6], repositories: [bookworm]}
      - name: accounts
        users:
          - {name: nonroot, uid: 65532}
          - {name: root, uid: 0, shell: /bin/sh}
        groups:
          - {name: nonroot, gid: 65532, members: [nonroot]}
    config:
      user: 65532
      env: [A=1, B=x=y]
  app:
    from: base
    layers:
      - name: bin
        go: {package: ./cmd/web, output: /app/web, ldflags: "-X main.v=${VERSION}", tags: [netgo]}
      - name: assets
        files:
          - {src: ./static/, dest: /app/static/, mode: "0644", owner: "65532:65532"}
          - {src: conf.tmpl, dest: /etc/app.conf, mode: 0o600, template: true}
          - {src: a/../b, dest: /b, mode: 0755}
          - {src: file, dest: /c, mode: 420}
      - name: dirs
        paths:
          - {path: /data, type: directory, mode: "750", owner: "1"}
          - {path: /bin/web, type: symlink, target: /app/web}
          - {path: /etc/motd, type: file, content: "hi ${VERSION}\n"}
      - name: rootfs
        tar: {src: rootfs}
    config:
      ports: ["8080", 53/udp, "7000-7002/tcp", 8080/tcp]
      volumes: [/data, /data]
      workdir: /app
      entrypoint: [/app/web]
      cmd: []
      stopSignal: SIGTERM
      labels: {version: "${VERSION}", n: 1}
      healthcheck: {test: [CMD-SHELL, "wget -q localhost"], interval: 10s, retries: 3, startInterval: 2s}
  remote:
    from: debian:bookworm@sha256:0000000000000000000000000000000000000000000000000000000000000000
  layout:
    from: oci-layout:out/base
  archive:
    from: docker-archive:base.tar
`, LoadOptions{})

	if want := []string{"base", "app", "remote", "layout", "archive"}; !slices.Equal(f.ImageOrder, want) {
		t.Errorf("ImageOrder = %v, want %v", f.ImageOrder, want)
	}
	if f.Context != f.Dir || !filepath.IsAbs(f.Dir) {
		t.Errorf("Context = %q, Dir = %q", f.Context, f.Dir)
	}
	if got := f.Repositories[0].Components; !slices.Equal(got, []string{"main"}) {
		t.Errorf("default components = %v", got)
	}
	if got := f.Repositories[1].Components; !slices.Equal(got, []string{"main", "contrib"}) {
		t.Errorf("components = %v", got)
	}
	base, app := f.Images["base"], f.Images["app"]
	if base.FromKind != FromScratch || app.FromKind != FromImage || app.From != "base" {
		t.Errorf("from kinds: base %v %q, app %v %q", base.FromKind, base.From, app.FromKind, app.From)
	}
	if app.Platform != "linux/arm64/v8" {
		t.Errorf("app inherits platform: got %q", app.Platform)
	}
	if k := f.Images["remote"].FromKind; k != FromRegistry {
		t.Errorf("remote: %v", k)
	}
	if l := f.Images["layout"]; l.FromKind != FromOCILayout || l.From != "oci-layout:"+filepath.Join(f.Dir, "out/base") {
		t.Errorf("layout: %v %q", l.FromKind, l.From)
	}
	if a := f.Images["archive"]; a.FromKind != FromDockerArchive || a.From != "docker-archive:"+filepath.Join(f.Dir, "base.tar") {
		t.Errorf("archive: %v %q", a.FromKind, a.From)
	}

	users := base.Layers[1].Users
	if users[0] != (User{Name: "nonroot", UID: 65532, GID: 65532, Home: "/home/nonroot", Shell: "/sbin/nologin"}) {
		t.Errorf("user defaults: %+v", users[0])
	}
	if users[1].Home != "/root" || users[1].Shell != "/bin/sh" {
		t.Errorf("root user: %+v", users[1])
	}
	if base.Layers[1].Kind() != "accounts" || base.Layers[0].Kind() != "debs" {
		t.Errorf("kinds: %q %q", base.Layers[1].Kind(), base.Layers[0].Kind())
	}
	if base.Config.User != "65532" || !reflect.DeepEqual(base.Config.Env, map[string]string{"A": "1", "B": "x=y"}) {
		t.Errorf("base config: %+v", base.Config)
	}

	g := app.Layers[0].Go
	if g.Dir != "." || g.Ldflags != "-X main.v=1.2.3" || !slices.Equal(g.Tags, []string{"netgo"}) {
		t.Errorf("go: %+v", g)
	}
	files := app.Layers[1].Files
	wantModes := []int64{0o644, 0o600, 0o755, 0o644}
	wantSrc := []string{"static/", "conf.tmpl", "b", "file"}
	for i, fi := range files {
		if fi.Mode == nil || *fi.Mode != wantModes[i] || fi.Src != wantSrc[i] {
			t.Errorf("files[%d] = %+v (mode %v), want src %q mode %o", i, fi, fi.Mode, wantSrc[i], wantModes[i])
		}
	}
	if !files[1].Template || files[0].Owner != "65532:65532" {
		t.Errorf("files: %+v", files)
	}
	paths := app.Layers[2].Paths
	if *paths[0].Mode != 0o750 || paths[1].Target != "/app/web" || paths[2].Content != "hi 1.2.3\n" {
		t.Errorf("paths: %+v", paths)
	}
	if app.Layers[3].Tar.Src != "rootfs" {
		t.Errorf("tar: %+v", app.Layers[3].Tar)
	}
	c := app.Config
	if want := []string{"53/udp", "7000/tcp", "7001/tcp", "7002/tcp", "8080/tcp"}; !slices.Equal(c.Ports, want) {
		t.Errorf("ports = %v, want %v", c.Ports, want)
	}
	if !slices.Equal(c.Volumes, []string{"/data"}) || c.Workdir != "/app" || c.StopSignal != "SIGTERM" {
		t.Errorf("config: %+v", c)
	}
	if c.Cmd == nil || len(c.Cmd) != 0 || !c.Has(FieldCmd) || c.Has(FieldUser) {
		t.Errorf("cmd: %#v set %b", c.Cmd, c.Set)
	}
	if c.Labels["version"] != "1.2.3" || c.Labels["n"] != "1" {
		t.Errorf("labels: %v", c.Labels)
	}
	h := c.Healthcheck
	if !slices.Equal(h.Test, []string{"CMD-SHELL", "wget -q localhost"}) || h.Interval != 10*time.Second || h.Retries != 3 || h.StartInterval != 2*time.Second {
		t.Errorf("healthcheck: %+v", h)
	}
}

func TestLoadDocsExample(t *testing.T) {
	doc, err := os.ReadFile("../../docs/berth-yaml.md")
	if err != nil {
		t.Skipf("docs not found: %v", err)
	}
	s := string(doc)
	start := strings.Index(s, "```yaml\n")
	end := strings.Index(s[start+8:], "```")
	if start < 0 || end < 0 {
		t.Fatal("no yaml block in docs/berth-yaml.md")
	}
	f := mustLoad(t, s[start+8:start+8+end], LoadOptions{})
	img, err := f.Image("app", "dev")
	if err != nil {
		t.Fatal(err)
	}
	if n := len(img.Layers); n != 5 || img.Layers[4].Name != "tools" {
		t.Errorf("app/dev layers: %d", n)
	}
	if !slices.Equal(img.Config.Entrypoint, []string{"/bin/busybox", "sh"}) || !slices.Equal(img.Config.Cmd, []string{"--port", "8080"}) {
		t.Errorf("app/dev config: %+v", img.Config)
	}
}

func TestVarsPrecedence(t *testing.T) {
	env := map[string]string{"B": "env-b", "A": "env-a", "HOME_DIR": "/home/x"}
	f := mustLoad(t, `vars:
  A: vars-a
  B: vars-b
  C: ${A}-${B}
  D: ${E:-dflt}
  F: "$${literal}"
  G: ${HOME_DIR}/app
  H: ${C}+${G}
images:
  app:
    layers:
      - name: f
        paths: [{path: "/${A}/${B}/${C}/${SETONLY}", type: directory}]
`, LoadOptions{
		Set:       map[string]string{"A": "set-a", "SETONLY": "s"},
		LookupEnv: mapLookup(env),
	})
	want := map[string]string{
		"A": "set-a", "B": "env-b", "C": "set-a-env-b", "D": "dflt", "F": "${literal}",
		"G": "/home/x/app", "H": "set-a-env-b+/home/x/app", "SETONLY": "s",
	}
	if !reflect.DeepEqual(f.Vars, want) {
		t.Errorf("Vars = %v\nwant   %v", f.Vars, want)
	}
	if got := f.Images["app"].Layers[0].Paths[0].Path; got != "/set-a/env-b/set-a-env-b/s" {
		t.Errorf("interpolated path = %q", got)
	}
	// Without --set or environment, vars: values apply.
	f = mustLoad(t, "vars: {A: one, B: \"${A}two\"}\n", LoadOptions{})
	if f.Vars["B"] != "onetwo" {
		t.Errorf("B = %q", f.Vars["B"])
	}
	// The real environment is used when LookupEnv is nil.
	t.Setenv("BERTH_SPEC_TEST_VAR", "from-os")
	f, err := LoadBytes(filepath.Join(t.TempDir(), "berth.yaml"), []byte("vars: {X: \"${BERTH_SPEC_TEST_VAR}\"}\n"), LoadOptions{})
	if err != nil || f.Vars["X"] != "from-os" {
		t.Errorf("os environment: %v %v", f, err)
	}
}

func TestSetInvalidName(t *testing.T) {
	_, err := LoadBytes("berth.yaml", []byte("{}"), LoadOptions{Set: map[string]string{"1X": "v"}})
	if err == nil || !strings.Contains(err.Error(), "--set 1X") {
		t.Fatalf("err = %v", err)
	}
}

func TestEmptyAndExtensions(t *testing.T) {
	for _, content := range []string{"", "# nothing\n", "images:\n", "x-common: &c {a: 1}\nimages: {}\n"} {
		f := mustLoad(t, content, LoadOptions{})
		if len(f.Images) != 0 {
			t.Errorf("%q: images %v", content, f.Images)
		}
	}
}

func TestServicesEnvironmentsKeptRaw(t *testing.T) {
	f := mustLoad(t, `images: {}
services:
  web: {image: app, anything: [goes, here]}
environments:
  prod: {hosts: [a]}
`, LoadOptions{})
	if f.Services == nil || f.Services.Line != 3 || f.Environments == nil || f.Environments.Line != 5 {
		t.Fatalf("services %+v environments %+v", f.Services, f.Environments)
	}
	var raw map[string]any
	if err := f.Services.Decode(&raw); err != nil || raw["web"] == nil {
		t.Errorf("decode services: %v %v", raw, err)
	}
	if f := mustLoad(t, "images: {}\n", LoadOptions{}); f.Services != nil || f.Environments != nil {
		t.Error("absent services/environments should be nil")
	}
}

func TestAnchorsAndMergeKeys(t *testing.T) {
	f := mustLoad(t, `x-config: &cfg
  user: "1000"
  env: {A: "1"}
x-paths: &dirs
  - {path: /a, type: directory}
images:
  one:
    layers:
      - {name: dirs, paths: *dirs}
    config:
      <<: *cfg
      user: "2000"
  two:
    layers:
      - {name: dirs, paths: *dirs}
    config: *cfg
`, LoadOptions{})
	if u := f.Images["one"].Config.User; u != "2000" {
		t.Errorf("explicit key should win over merge: user %q", u)
	}
	if e := f.Images["one"].Config.Env["A"]; e != "1" {
		t.Errorf("merged env: %q", e)
	}
	if u := f.Images["two"].Config.User; u != "1000" || f.Images["two"].Layers[0].Paths[0].Path != "/a" {
		t.Errorf("alias: %+v", f.Images["two"])
	}
}

func TestBillionLaughs(t *testing.T) {
	var b strings.Builder
	b.WriteString("x-a0: &a0 [{path: /a, type: directory}]\n")
	for i := 1; i < 30; i++ {
		b.WriteString("x-a" + itoa(i) + ": &a" + itoa(i) + " [*a" + itoa(i-1) + ", *a" + itoa(i-1) + "]\n")
	}
	b.WriteString("images: {app: {layers: [{name: p, paths: *a29}]}}\n")
	done := make(chan error, 1)
	go func() {
		_, err := Load(writeSpec(t, b.String()), LoadOptions{LookupEnv: noEnv})
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("want an error")
		}
	case <-time.After(20 * time.Second):
		t.Fatal("alias expansion is not bounded")
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

func TestRecursiveAlias(t *testing.T) {
	_, err := Load(writeSpec(t, "images: &a {app: {layers: *a}}\n"), LoadOptions{LookupEnv: noEnv})
	if err == nil {
		t.Fatal("want an error")
	}
	_, err = Load(writeSpec(t, "images:\n  app:\n    config: &c {<<: *c}\n"), LoadOptions{LookupEnv: noEnv})
	_ = err // must terminate; an error or not is both acceptable
}

func TestContext(t *testing.T) {
	p := writeSpec(t, "context: sub\n")
	if err := os.Mkdir(filepath.Join(filepath.Dir(p), "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := Load(p, LoadOptions{LookupEnv: noEnv})
	if err != nil {
		t.Fatal(err)
	}
	if f.Context != filepath.Join(filepath.Dir(p), "sub") {
		t.Errorf("Context = %q", f.Context)
	}
}

func TestKeyringResolved(t *testing.T) {
	f := mustLoad(t, `repositories:
  - {name: r, url: "http://127.0.0.1/debian", suite: s, keyring: keys/k.gpg}
  - {name: q, url: "http://127.0.0.1/debian", suite: s, keyring: /usr/share/keyrings/k.gpg}
`, LoadOptions{})
	if f.Repositories[0].Keyring != filepath.Join(f.Dir, "keys/k.gpg") || f.Repositories[1].Keyring != "/usr/share/keyrings/k.gpg" {
		t.Errorf("keyrings: %+v", f.Repositories)
	}
}

func TestLoadErrors(t *testing.T) {
	img := func(body string) string { return repoHeader + "images:\n  app:\n" + body }
	// repoHeader is 3 lines, so an img() body starts at line 6.
	tests := []struct {
		name    string
		yaml    string
		set     map[string]string
		wantAll []string
	}{
		{"unknown top-level field", "imagse: {}\n",
			nil, []string{"berth.yaml:1:1: ", `unknown field "imagse" (did you mean "images"?)`}},
		{"unknown field did you mean", img(`    layers:
      - name: a
        files:
          - source: x
            dest: /x
`), nil, []string{"berth.yaml:9:13: images.app.layers[0].files[0]: unknown field \"source\" (did you mean \"src\"?)"}},
		{"unknown field no suggestion", img("    zzz: 1\n"),
			nil, []string{"berth.yaml:6:5: images.app: unknown field \"zzz\" (known fields: config, from, layers, platform, variants)"}},
		{"snake case suggestion", img("    config: {stop_signal: TERM}\n"),
			nil, []string{"berth.yaml:6:14: images.app.config", `did you mean "stopSignal"`}},
		{"layers wrong type", img("    layers: {name: x}\n"),
			nil, []string{"berth.yaml:6:13: images.app.layers: expected a list, got a mapping"}},
		{"image wrong type", img("    [a]\n"),
			nil, []string{"berth.yaml:6:5: images.app: expected a mapping"}},
		{"layer without name", img("    layers:\n      - paths: [{path: /a, type: directory}]\n"),
			nil, []string{"berth.yaml:7:9: images.app.layers[0]: missing field \"name\""}},
		{"duplicate layer name", img("    layers:\n      - {name: a, tar: {src: x}}\n      - {name: a, tar: {src: y}}\n"),
			nil, []string{"berth.yaml:8:16: images.app.layers[1].name: layer name \"a\" is used twice"}},
		{"two sources", img("    layers:\n      - {name: a, tar: {src: x}, go: {package: ., output: /x}}\n"),
			nil, []string{"berth.yaml:7:9: images.app.layers[0]: layer has 2 sources (go, tar)"}},
		{"no source", img("    layers:\n      - {name: a}\n"),
			nil, []string{"berth.yaml:7:9: images.app.layers[0]: layer has no source"}},
		{"users and groups are one source", img("    layers:\n      - {name: a, users: [{name: u, uid: 1}], groups: [{name: g, gid: 1}], tar: {src: x}}\n"),
			nil, []string{"layer has 2 sources (users/groups, tar)"}},
		{"invalid image name", repoHeader + "images:\n  App: {}\n",
			nil, []string{"berth.yaml:5:3: images.App: invalid image name \"App\""}},
		{"invalid layer name", img("    layers:\n      - {name: -a, tar: {src: x}}\n"),
			nil, []string{"berth.yaml:7:16: images.app.layers[0].name: invalid layer name \"-a\""}},
		{"from cycle", `images:
  a: {from: b}
  b: {from: c}
  c: {from: a}
`, nil, []string{"berth.yaml:2:13: images.a.from: images are built from each other in a cycle: a → b → c → a"}},
		{"from itself", "images:\n  a: {from: a}\n",
			nil, []string{"berth.yaml:2:13: images.a.from: image \"a\" cannot be built from itself"}},
		{"from invalid reference", "images:\n  a: {from: \"Not A Ref\"}\n",
			nil, []string{"berth.yaml:2:13: images.a.from: \"Not A Ref\" is not scratch"}},
		{"from empty oci-layout", "images:\n  a: {from: \"oci-layout:\"}\n",
			nil, []string{"berth.yaml:2:13: images.a.from", "needs a path"}},
		{"unknown repository", img("    layers:\n      - {name: os, debs: {packages: [libc6], repositories: [bookwrom]}}\n"),
			nil, []string{"berth.yaml:7:61: images.app.layers[0].debs.repositories[0]: unknown repository \"bookwrom\" (did you mean \"bookworm\"?)"}},
		{"debs without repositories", "images:\n  app:\n    layers:\n      - {name: os, debs: {packages: [libc6]}}\n",
			nil, []string{"berth.yaml:4:26: images.app.layers[0].debs: a debs layer needs Debian repositories"}},
		{"debs bad package", img("    layers:\n      - {name: os, debs: {packages: [libc6, \"libc6=2.36\", Bad]}}\n"),
			nil, []string{"berth.yaml:7:45: images.app.layers[0].debs.packages[1]: invalid Debian package name \"libc6=2.36\": write only the name", "packages[2]"}},
		{"debs no packages", img("    layers:\n      - {name: os, debs: {packages: []}}\n"),
			nil, []string{"images.app.layers[0].debs.packages: lists no packages"}},
		{"mode out of range", img("    layers:\n      - name: f\n        files: [{src: a, dest: /a, mode: \"017777\"}]\n"),
			nil, []string{"berth.yaml:8:42: images.app.layers[0].files[0].mode: mode \"017777\" is out of range"}},
		{"mode decimal looks octal", img("    layers:\n      - name: f\n        files: [{src: a, dest: /a, mode: 644}]\n"),
			nil, []string{"berth.yaml:8:42: images.app.layers[0].files[0].mode: mode 644 is read as the decimal number 644", `write "0644"`}},
		{"mode not octal", img("    layers:\n      - name: f\n        files: [{src: a, dest: /a, mode: rw-r}]\n"),
			nil, []string{"files[0].mode: invalid mode \"rw-r\""}},
		{"dest relative", img("    layers:\n      - name: f\n        files: [{src: a, dest: etc/a}]\n"),
			nil, []string{"berth.yaml:8:32: images.app.layers[0].files[0].dest: path \"etc/a\" must be absolute"}},
		{"dest dotdot", img("    layers:\n      - name: f\n        files: [{src: a, dest: /etc/../a}]\n"),
			nil, []string{"files[0].dest: path \"/etc/../a\" must not contain \"..\""}},
		{"src escapes context", img("    layers:\n      - name: f\n        files: [{src: ../secret, dest: /a}]\n"),
			nil, []string{"berth.yaml:8:23: images.app.layers[0].files[0].src: path \"../secret\" leaves the context"}},
		{"src absolute", img("    layers:\n      - name: f\n        files: [{src: /etc/passwd, dest: /a}]\n"),
			nil, []string{"berth.yaml:8:23: images.app.layers[0].files[0].src: path \"/etc/passwd\" must be relative to the context"}},
		{"file missing dest", img("    layers:\n      - name: f\n        files: [{src: a}]\n"),
			nil, []string{"berth.yaml:8:17: images.app.layers[0].files[0]: missing field \"dest\""}},
		{"owner by name", img("    layers:\n      - name: f\n        files: [{src: a, dest: /a, owner: root}]\n"),
			nil, []string{"files[0].owner: invalid owner \"root\"", "numeric"}},
		{"template bool", img("    layers:\n      - name: f\n        files: [{src: a, dest: /a, template: yes}]\n"),
			nil, []string{"files[0].template: expected true or false, got \"yes\""}},
		{"volumes relative", img("    config: {volumes: [data]}\n"),
			nil, []string{"berth.yaml:6:24: images.app.config.volumes[0]: path \"data\" must be absolute"}},
		{"workdir relative", img("    config: {workdir: app}\n"),
			nil, []string{"berth.yaml:6:23: images.app.config.workdir: path \"app\" must be absolute"}},
		{"port out of range", img("    config: {ports: [\"70000\", 80/icmp, 0]}\n"),
			nil, []string{"berth.yaml:6:22: images.app.config.ports[0]: invalid port \"70000\"", "ports[1]: invalid port \"80/icmp\": protocol must be tcp, udp or sctp", "ports[2]"}},
		{"platform invalid", img("    platform: linux/sparc\n"),
			nil, []string{"berth.yaml:6:15: images.app.platform: unsupported platform \"linux/sparc\": unknown architecture"}},
		{"platform os", img("    platform: windows/amd64\n"),
			nil, []string{"images.app.platform: unsupported platform \"windows/amd64\": os must be linux"}},
		{"platform shape", img("    platform: amd64\n"),
			nil, []string{"images.app.platform: invalid platform \"amd64\": expected os/arch"}},
		{"platform variant", img("    platform: linux/amd64/v9\n"),
			nil, []string{"images.app.platform: invalid platform \"linux/amd64/v9\": variant of amd64 must be one of"}},
		{"platform differs from parent", "images:\n  a: {platform: linux/amd64}\n  b: {from: a, platform: linux/arm64}\n",
			nil, []string{"berth.yaml:3:26: images.b.platform: linux/arm64 differs from linux/amd64, the platform of image \"a\""}},
		{"duplicate repository", "repositories:\n  - {name: r, url: \"http://x/\", suite: s}\n  - {name: r, url: \"http://x/\", suite: s}\n",
			nil, []string{"berth.yaml:3:12: repositories[1].name: repository \"r\" is already defined at"}},
		{"repository bad url", "repositories:\n  - {name: r, url: \"ftp://x/\", suite: s}\n",
			nil, []string{"berth.yaml:2:20: repositories[0].url: invalid URL \"ftp://x/\": scheme must be http, https or file"}},
		{"repository missing suite", "repositories:\n  - {name: r, url: \"http://x/\"}\n",
			nil, []string{"berth.yaml:2:5: repositories[0]: missing field \"suite\""}},
		{"entrypoint string", img("    config: {entrypoint: /app/web --port 80}\n"),
			nil, []string{"berth.yaml:6:26: images.app.config.entrypoint: expected a list of strings, got a string (write one item per argument, [/app/web, --port, 80]"}},
		{"healthcheck test", img("    config: {healthcheck: {test: [RUN, x]}}\n"),
			nil, []string{"berth.yaml:6:34: images.app.config.healthcheck.test: must start with NONE, CMD or CMD-SHELL"}},
		{"healthcheck none with args", img("    config: {healthcheck: {test: [NONE, x]}}\n"),
			nil, []string{"healthcheck.test: [NONE] takes no arguments"}},
		{"healthcheck duration", img("    config: {healthcheck: {test: [NONE], interval: 10}}\n"),
			nil, []string{"berth.yaml:6:52: images.app.config.healthcheck.interval: invalid duration \"10\""}},
		{"healthcheck negative", img("    config: {healthcheck: {test: [NONE], timeout: -1s, retries: -1}}\n"),
			nil, []string{"healthcheck.timeout: duration \"-1s\" must not be negative", "healthcheck.retries: -1 is out of range"}},
		{"duplicate key", img("    from: scratch\n    from: debian\n"),
			nil, []string{"berth.yaml:7:5: images.app.from: duplicate key (first defined at line 6)"}},
		{"unset variables all reported", img("    layers:\n      - name: f\n        files: [{src: \"${SRC}\", dest: \"/${DEST}/$SRC\"}]\n    config: {env: {PORT: \"${PORT}\"}}\n"),
			nil, []string{
				"4 problems:",
				"berth.yaml:8:23: images.app.layers[0].files[0].src: variable \"SRC\" is not set",
				"berth.yaml:8:39: images.app.layers[0].files[0].dest: variable \"DEST\" is not set",
				"berth.yaml:8:39: images.app.layers[0].files[0].dest: variable \"SRC\" is not set",
				"berth.yaml:9:26: images.app.config.env.PORT: variable \"PORT\" is not set (set it with --set PORT=...",
			}},
		{"required variable", "vars:\n  TAG: ${TAG:?pass --set TAG=...}\n",
			nil, []string{"berth.yaml:2:8: vars.TAG: variable \"TAG\" is required: pass --set TAG=..."}},
		{"later var", "vars:\n  A: ${B}\n  B: x\n",
			nil, []string{"berth.yaml:2:6: vars.A: variable \"B\" is not set (vars: defines B further down"}},
		{"bad dollar", "vars:\n  A: cost $5\n",
			nil, []string{"berth.yaml:2:6: vars.A: invalid \"$5\"", "$$"}},
		{"invalid var name", "vars:\n  my-var: x\n",
			nil, []string{"berth.yaml:2:3: vars.my-var: invalid variable name \"my-var\""}},
		{"vars value is a list", "vars:\n  A: [x]\n",
			nil, []string{"berth.yaml:2:6: vars.A: expected a string, got a list"}},
		{"variant named prod", img("    variants:\n      prod: {}\n"),
			nil, []string{"berth.yaml:7:7: images.app.variants.prod: \"prod\" is reserved"}},
		{"variant layer name clash", img("    layers:\n      - {name: a, tar: {src: x}}\n    variants:\n      dev:\n        layers:\n          - {name: a, tar: {src: y}}\n"),
			nil, []string{"berth.yaml:11:20: images.app.variants.dev.layers[0].name: layer name \"a\" is used twice"}},
		{"variant unknown field", img("    variants:\n      dev: {from: x}\n"),
			nil, []string{"berth.yaml:7:13: images.app.variants.dev: unknown field \"from\""}},
		{"symlink without target", img("    layers:\n      - name: p\n        paths: [{path: /a, type: symlink, mode: \"0777\"}]\n"),
			nil, []string{"images.app.layers[0].paths[0]: missing field \"target\"", "berth.yaml:8:49: images.app.layers[0].paths[0].mode: symlinks have no mode"}},
		{"path type typo", img("    layers:\n      - name: p\n        paths: [{path: /a, type: dir}]\n"),
			nil, []string{"berth.yaml:8:34: images.app.layers[0].paths[0].type: unknown type \"dir\""}},
		{"path content on directory", img("    layers:\n      - name: p\n        paths: [{path: /a, type: directory, content: x}]\n"),
			nil, []string{"paths[0].content: only files have content"}},
		{"user missing uid", img("    layers:\n      - name: u\n        users: [{name: app}]\n"),
			nil, []string{"berth.yaml:8:17: images.app.layers[0].users[0]: missing field \"uid\""}},
		{"user bad uid", img("    layers:\n      - name: u\n        users: [{name: app, uid: -1}, {name: b, uid: abc}]\n"),
			nil, []string{"users[0].uid: -1 is out of range", "users[1].uid: expected a whole number, got \"abc\""}},
		{"user bad name", img("    layers:\n      - name: u\n        users: [{name: \"Bad:Name\", uid: 1}]\n"),
			nil, []string{"users[0].name: invalid name \"Bad:Name\""}},
		{"user duplicate", img("    layers:\n      - name: u\n        users: [{name: a, uid: 1}, {name: a, uid: 2}]\n"),
			nil, []string{"images.app.layers[0].users: user \"a\" is defined twice"}},
		{"group missing gid", img("    layers:\n      - name: u\n        groups: [{name: g}]\n"),
			nil, []string{"groups[0]: missing field \"gid\""}},
		{"env list without =", img("    config: {env: [FOO]}\n"),
			nil, []string{"berth.yaml:6:20: images.app.config.env[0]: expected KEY=VALUE, got \"FOO\""}},
		{"stop signal", img("    config: {stopSignal: SIGFOO}\n"),
			nil, []string{"images.app.config.stopSignal: invalid signal \"SIGFOO\""}},
		{"user with space", img("    config: {user: \"a b\"}\n"),
			nil, []string{"images.app.config.user: invalid user \"a b\""}},
		{"go missing output", img("    layers:\n      - {name: g, go: {package: ./cmd}}\n"),
			nil, []string{"berth.yaml:7:23: images.app.layers[0].go: missing field \"output\""}},
		{"go dir escapes", img("    layers:\n      - {name: g, go: {package: ., output: /x, dir: ../other}}\n"),
			nil, []string{"images.app.layers[0].go.dir: path \"../other\" leaves the context"}},
		{"tar as string", img("    layers:\n      - {name: t, tar: rootfs.tar}\n"),
			nil, []string{"berth.yaml:7:24: images.app.layers[0].tar: expected a mapping, got a string (write tar: {src: rootfs.tar})"}},
		{"context missing", "context: nope\n",
			nil, []string{"berth.yaml:1:10: context: \"nope\": no such file or directory"}},
		{"multiple documents", "images: {}\n---\nimages: {}\n",
			nil, []string{"berth.yaml:2:1: more than one YAML document"}},
		{"yaml syntax", "images:\n  app: [\n",
			nil, []string{"berth.yaml:", "invalid YAML"}},
		{"yaml syntax with column", "images: {}\nvars: b\n  c: d\n",
			nil, []string{"berth.yaml:3:4: invalid YAML: mapping values are not allowed in this context"}},
		{"unquoted variable in flow mapping", "vars: {A: x, B: ${A}y}\n",
			nil, []string{"berth.yaml: invalid YAML", "quote values that contain ${...}"}},
		{"key not a string", "images:\n  [a]: {}\n",
			nil, []string{"berth.yaml:2:3: images: keys must be strings"}},
		{"top level list", "- a\n",
			nil, []string{"berth.yaml:1:1: expected a mapping"}},
		{"set value used", "images:\n  app: {from: \"${BASE}\"}\n",
			map[string]string{"BASE": "Bad Ref"}, []string{"images.app.from: \"Bad Ref\" is not scratch"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(writeSpec(t, tt.yaml), LoadOptions{Set: tt.set, LookupEnv: noEnv})
			if err == nil {
				t.Fatalf("no error; want %q", tt.wantAll)
			}
			var es Errors
			if !errors.As(err, &es) {
				t.Fatalf("error %T is not spec.Errors: %v", err, err)
			}
			for _, w := range tt.wantAll {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not contain %q:\n%v", w, err)
				}
			}
		})
	}
}

func TestVariantMerge(t *testing.T) {
	f := mustLoad(t, `images:
  app:
    layers:
      - {name: a, paths: [{path: /a, type: directory}]}
    config:
      env: {A: "1", B: "2"}
      labels: {x: "1"}
      entrypoint: [/app]
      cmd: [serve]
      ports: ["80"]
      user: "1000"
    variants:
      dev:
        layers:
          - {name: b, paths: [{path: /b, type: directory}]}
        config:
          env: {B: "3", C: "4"}
          cmd: []
          ports: ["8080"]
          annotations: {note: dev}
      bare: {}
`, LoadOptions{})
	img, err := f.Image("app", "dev")
	if err != nil {
		t.Fatal(err)
	}
	if len(img.Layers) != 2 || img.Layers[0].Name != "a" || img.Layers[1].Name != "b" || img.Variants != nil {
		t.Fatalf("layers: %+v", img.Layers)
	}
	c := img.Config
	if !reflect.DeepEqual(c.Env, map[string]string{"A": "1", "B": "3", "C": "4"}) {
		t.Errorf("env: %v", c.Env)
	}
	if !slices.Equal(c.Entrypoint, []string{"/app"}) || len(c.Cmd) != 0 || !slices.Equal(c.Ports, []string{"8080/tcp"}) || c.User != "1000" {
		t.Errorf("config: %+v", c)
	}
	if c.Labels["x"] != "1" || c.Annotations["note"] != "dev" || !c.Has(FieldAnnotations) || !c.Has(FieldUser) {
		t.Errorf("labels/annotations: %+v", c)
	}
	// The file is not changed by modifying the result.
	img.Config.Env["A"] = "changed"
	img.Layers[0].Paths[0].Path = "/changed"
	for _, v := range []string{"", "prod", "bare"} {
		p, err := f.Image("app", v)
		if err != nil {
			t.Fatal(err)
		}
		if p.Config.Env["A"] != "1" || p.Layers[0].Paths[0].Path != "/a" || len(p.Layers) != 1 || !slices.Equal(p.Config.Cmd, []string{"serve"}) {
			t.Errorf("variant %q: %+v", v, p)
		}
	}
	if _, err := f.Image("app", "qa"); err == nil || !strings.Contains(err.Error(), `no variant "qa" (variants: "prod", "bare", "dev")`) {
		t.Errorf("unknown variant: %v", err)
	}
	if _, err := f.Image("web", ""); err == nil || !strings.Contains(err.Error(), `no image "web" (images: "app")`) {
		t.Errorf("unknown image: %v", err)
	}
}

func TestApplyTo(t *testing.T) {
	base := v1.Config{
		Env:          []string{"PATH=/usr/bin", "A=old"},
		Cmd:          []string{"nginx"},
		Entrypoint:   []string{"/docker-entrypoint.sh"},
		Labels:       map[string]string{"keep": "1", "over": "old"},
		ExposedPorts: map[string]struct{}{"80/tcp": {}},
		User:         "101",
		WorkingDir:   "/",
	}
	c := Config{
		Env:         map[string]string{"A": "new", "Z": "z", "B": "b"},
		Labels:      map[string]string{"over": "new"},
		Entrypoint:  []string{"/app"},
		Ports:       []string{"8080/tcp"},
		Healthcheck: &Healthcheck{Test: []string{"NONE"}},
		Set:         FieldEnv | FieldLabels | FieldEntrypoint | FieldPorts | FieldHealthcheck,
	}
	got := c.ApplyTo(base)
	if !slices.Equal(got.Env, []string{"PATH=/usr/bin", "A=new", "B=b", "Z=z"}) {
		t.Errorf("env: %v", got.Env)
	}
	if got.Cmd != nil || !slices.Equal(got.Entrypoint, []string{"/app"}) {
		t.Errorf("entrypoint without cmd must drop the base cmd: %v %v", got.Entrypoint, got.Cmd)
	}
	if !reflect.DeepEqual(got.Labels, map[string]string{"keep": "1", "over": "new"}) || got.User != "101" || got.WorkingDir != "/" {
		t.Errorf("labels/user: %+v", got)
	}
	if _, ok := got.ExposedPorts["8080/tcp"]; !ok || len(got.ExposedPorts) != 1 {
		t.Errorf("ports: %v", got.ExposedPorts)
	}
	if got.Healthcheck == nil || !slices.Equal(got.Healthcheck.Test, []string{"NONE"}) {
		t.Errorf("healthcheck: %+v", got.Healthcheck)
	}
	if base.Env[1] != "A=old" || base.Labels["over"] != "old" {
		t.Error("ApplyTo modified its input")
	}
	// Setting cmd alone keeps the base entrypoint.
	got = Config{Cmd: []string{"x"}, Set: FieldCmd}.ApplyTo(base)
	if !slices.Equal(got.Entrypoint, base.Entrypoint) || !slices.Equal(got.Cmd, []string{"x"}) {
		t.Errorf("cmd only: %v %v", got.Entrypoint, got.Cmd)
	}
}

func TestParseOwnerAndMode(t *testing.T) {
	for _, tt := range []struct {
		in       string
		uid, gid int
		ok       bool
	}{{"", 0, 0, true}, {"5", 5, 5, true}, {"1:2", 1, 2, true}, {"a", 0, 0, false}, {"1:", 0, 0, false}, {"-1", 0, 0, false}, {"99999999999", 0, 0, false}} {
		u, g, err := ParseOwner(tt.in)
		if (err == nil) != tt.ok || u != tt.uid || g != tt.gid {
			t.Errorf("ParseOwner(%q) = %d, %d, %v", tt.in, u, g, err)
		}
	}
	for _, tt := range []struct {
		in   string
		want int64
		ok   bool
	}{{"0644", 0o644, true}, {"644", 0o644, true}, {"0o755", 0o755, true}, {"4755", 0o4755, true}, {"8", 0, false}, {"", 0, false}, {"10000", 0, false}} {
		m, err := ParseMode(tt.in)
		if (err == nil) != tt.ok || m != tt.want {
			t.Errorf("ParseMode(%q) = %o, %v", tt.in, m, err)
		}
	}
}

func FuzzLoad(f *testing.F) {
	seeds := []string{
		"", "images: {}", repoHeader + "images:\n  a:\n    layers:\n      - {name: x, debs: {packages: [libc6]}}\n",
		"vars: {A: ${B:-c}}\nimages: {a: {from: a}}", "x-a: &a {b: *a}", "images: {a: {config: {<<: [*x]}}}",
		"images:\n  a:\n    variants: {dev: {layers: [{name: y, tar: {src: t}}]}}\n",
		"images: {a: {config: {ports: [\"1-65535\"], healthcheck: {test: [CMD, x]}}}}",
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	dir := f.TempDir()
	p := filepath.Join(dir, "berth.yaml")
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := LoadBytes(p, data, LoadOptions{LookupEnv: noEnv, Set: map[string]string{"S": "v"}})
		if err != nil {
			var es Errors
			if errors.As(err, &es) && len(es) == 0 {
				t.Fatal("empty Errors returned")
			}
			return
		}
		for _, name := range file.ImageOrder {
			img := file.Images[name]
			if _, err := file.Image(name, ""); err != nil {
				t.Fatal(err)
			}
			for v := range img.Variants {
				if _, err := file.Image(name, v); err != nil {
					t.Fatal(err)
				}
			}
		}
	})
}
