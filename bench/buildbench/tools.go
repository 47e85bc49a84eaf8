package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/berth-dev/berth/bench/internal/benchkit"
)

// appVersion and goLdflags mirror examples/goapp/berth.yaml: berth appends
// -buildid= and passes -trimpath -buildvcs=false with CGO_ENABLED=0 and an
// empty GOFLAGS (internal/build/source/gobuild.go), so docker's and ko's go
// builds use exactly the same flags and produce the same binary.
const (
	appVersion = "1.0.0"
	goLdflags  = "-s -w -X main.version=" + appVersion + " -buildid="
)

// The Dockerfile gives docker the image berth.yaml's `app` declares: the
// same base (loaded from berth's docker-archive of `base`), the binary and
// the static files as two layers, and the same config.
const dockerfile = `FROM base:v1
COPY goapp.bin /app/goapp
COPY static/ /app/static/
ENTRYPOINT ["/app/goapp"]
EXPOSE 8080/tcp
LABEL org.opencontainers.image.version="` + appVersion + `"
HEALTHCHECK --interval=5s --timeout=2s --retries=3 CMD ["/app/goapp", "-healthcheck"]
`

// Only the binary and the static files are build context: sending the Go
// sources to the daemon would be work a careful Dockerfile author avoids.
const dockerignore = `*
!goapp.bin
!static
`

// koConfig gives ko the same Go flags. ko puts kodata/ (the static files)
// under /var/run/ko and the binary at /ko-app/goapp.
const koConfig = `builds:
- id: goapp
  main: .
  env: [CGO_ENABLED=0, GOFLAGS=]
  flags: [-trimpath, -buildvcs=false]
  ldflags: ["-s", "-w", "-X main.version=` + appVersion + `", "-buildid="]
`

// cmdTiming is one command of a tool's pipeline.
type cmdTiming struct {
	Name    string  `json:"name"`
	Seconds float64 `json:"seconds"`
}

// berthLayer is one layer line of `berth build --json`.
type berthLayer struct {
	Name    string  `json:"name"`
	Kind    string  `json:"kind"`
	Cached  bool    `json:"cached"`
	Seconds float64 `json:"seconds"`
}

// runResult is one timed pipeline run.
type runResult struct {
	Seconds     float64      `json:"seconds"`
	Commands    []cmdTiming  `json:"commands"`
	BerthLayers []berthLayer `json:"berth_layers,omitempty"`
}

// tool is one way of building the image.
type tool struct {
	name       string
	ws         string // workspace: a copy of examples/goapp plus the tool's files
	staticPath string // index.html, relative to ws
	ref        string // where pushes go
	env        []string
	setup      string // one line for the report: what is run
	// reset makes the tool's build caches empty for the cold step (the Go
	// build cache and the base image stay); resetEmpty empties everything
	// the tool owns (nil: the step does not apply).
	reset, resetEmpty func(ctx context.Context) error
	pipeline          func(ctx context.Context, push bool) (runResult, error)
}

// timedCmd runs one command of a pipeline in dir and records its wall time.
func timedCmd(ctx context.Context, r *runResult, label, dir string, env []string, stdout *bytes.Buffer, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var out, errb bytes.Buffer
	if stdout == nil {
		stdout = &out
	}
	cmd.Stdout, cmd.Stderr = stdout, &errb
	cmd.SysProcAttr = benchkit.ChildProcAttr()
	start := time.Now()
	err := cmd.Run()
	d := time.Since(start).Seconds()
	if err != nil {
		return fmt.Errorf("%s %s: %v\n%s\n%s", name, strings.Join(args, " "), err, benchkit.Tail(stdout.Bytes(), 2000), benchkit.Tail(errb.Bytes(), 3000))
	}
	r.Commands = append(r.Commands, cmdTiming{Name: label, Seconds: d})
	r.Seconds += d
	return nil
}

// runCmd runs an untimed setup command.
func runCmd(ctx context.Context, dir string, env []string, name string, args ...string) error {
	var r runResult
	return timedCmd(ctx, &r, name, dir, env, nil, name, args...)
}

func newBerthTool(berthBin, ws, cacheDir, templateCache, registry string, env []string) *tool {
	t := &tool{name: "berth", ws: ws, staticPath: "static/index.html", ref: registry + "/berth/goapp:latest",
		env: append(env, "BERTH_CACHE="+cacheDir)}
	t.setup = "`berth build app [--push " + "REG/berth/goapp:latest]` (compiles the Go binary itself; `--json` for per-layer times)"
	t.reset = func(ctx context.Context) error {
		if err := os.RemoveAll(cacheDir); err != nil {
			return err
		}
		return runCmd(ctx, "", nil, "cp", "-a", templateCache, cacheDir)
	}
	t.resetEmpty = func(context.Context) error {
		if err := os.RemoveAll(cacheDir); err != nil {
			return err
		}
		return os.MkdirAll(cacheDir, 0o755)
	}
	t.pipeline = func(ctx context.Context, push bool) (runResult, error) {
		var r runResult
		args := []string{"build", "app", "--json"}
		label := "berth build"
		if push {
			args = append(args, "--push", t.ref)
			label += " --push"
		}
		var out bytes.Buffer
		if err := timedCmd(ctx, &r, label, ws, t.env, &out, berthBin, args...); err != nil {
			return r, err
		}
		var res []struct {
			Layers []struct {
				Name     string        `json:"name"`
				Kind     string        `json:"kind"`
				Cached   bool          `json:"cached"`
				Duration time.Duration `json:"duration"`
			} `json:"layers"`
		}
		if err := json.Unmarshal(out.Bytes(), &res); err != nil {
			return r, fmt.Errorf("berth build --json: %w\n%s", err, benchkit.Tail(out.Bytes(), 2000))
		}
		for _, img := range res {
			for _, l := range img.Layers {
				r.BerthLayers = append(r.BerthLayers, berthLayer{Name: l.Name, Kind: l.Kind, Cached: l.Cached, Seconds: l.Duration.Seconds()})
			}
		}
		return r, nil
	}
	return t
}

func newDockerTool(dockerBin string, d *benchkit.Dockerd, builder, ws, registry string, env []string) *tool {
	t := &tool{name: "docker", ws: ws, staticPath: "static/index.html", ref: registry + "/docker/goapp:latest"}
	buildkit := "1"
	if builder == "classic" {
		buildkit = "0"
	}
	t.env = append(append(env, d.Env...), "DOCKER_BUILDKIT="+buildkit)
	t.setup = fmt.Sprintf("`go build -trimpath -buildvcs=false -ldflags %q` + `docker build` (%s builder, DOCKER_BUILDKIT=%s) [+ `docker push REG/docker/goapp:latest`]", goLdflags, builder, buildkit)
	t.reset = func(ctx context.Context) error {
		if err := runCmd(ctx, ws, t.env, dockerBin, "builder", "prune", "-af"); err != nil {
			return err
		}
		// Missing is fine: the first cold step runs before any build.
		_ = runCmd(ctx, ws, t.env, dockerBin, "rmi", "-f", t.ref)
		return runCmd(ctx, ws, t.env, dockerBin, "image", "prune", "-f")
	}
	t.pipeline = func(ctx context.Context, push bool) (runResult, error) {
		var r runResult
		if err := timedCmd(ctx, &r, "go build", ws, t.env, nil, "go", "build", "-trimpath", "-buildvcs=false", "-ldflags", goLdflags, "-o", "goapp.bin", "."); err != nil {
			return r, err
		}
		if err := timedCmd(ctx, &r, "docker build", ws, t.env, nil, dockerBin, "build", "-q", "-t", t.ref, "."); err != nil {
			return r, err
		}
		if push {
			if err := timedCmd(ctx, &r, "docker push", ws, t.env, nil, dockerBin, "push", "-q", t.ref); err != nil {
				return r, err
			}
		}
		return r, nil
	}
	return t
}

func newKoTool(koBin, ws, registry string, env []string) *tool {
	t := &tool{name: "ko", ws: ws, staticPath: "kodata/index.html", ref: registry + "/ko/goapp:latest"}
	t.env = append(env, "KO_DOCKER_REPO="+registry+"/ko", "KO_DEFAULTBASEIMAGE="+registry+"/base:v1")
	t.setup = "`ko build -B --sbom=none --platform=linux/amd64 [--push=false] .` with KO_DEFAULTBASEIMAGE=REG/base:v1, KO_DOCKER_REPO=REG/ko, the same Go flags in .ko.yaml, static files as kodata/"
	t.reset = func(context.Context) error { return nil } // ko keeps no build cache of its own (KOCACHE unset)
	t.pipeline = func(ctx context.Context, push bool) (runResult, error) {
		var r runResult
		args := []string{"build", "-B", "--sbom=none", "--platform=linux/amd64"}
		label := "ko build --push=false"
		if push {
			label = "ko build"
		} else {
			args = append(args, "--push=false")
		}
		err := timedCmd(ctx, &r, label, ws, t.env, nil, koBin, append(args, ".")...)
		return r, err
	}
	return t
}

// findKo returns -ko-bin, else bin/ko of the checkout, else ko in PATH, else
// installs koModule into bin/ (about a minute, once).
func findKo(ctx context.Context, root, flagBin string, progress func(string, ...any)) (string, error) {
	if flagBin != "" {
		if _, err := os.Stat(flagBin); err != nil {
			return "", fmt.Errorf("-ko-bin: %w", err)
		}
		return flagBin, nil
	}
	local := filepath.Join(root, "bin", "ko")
	if _, err := os.Stat(local); err == nil {
		return local, nil
	}
	if p, err := exec.LookPath("ko"); err == nil {
		return p, nil
	}
	progress("installing %s into %s (once)", koModule, filepath.Dir(local))
	if err := runCmd(ctx, root, []string{"GOBIN=" + filepath.Dir(local)}, "go", "install", koModule); err != nil {
		return "", fmt.Errorf("install ko: %w", err)
	}
	return local, nil
}

// koModule is pinned so runs compare like with like.
const koModule = "github.com/google/ko@v0.19.1"

// prepareWorkspaces copies the example into one directory per tool and adds
// each tool's own files.
func prepareWorkspaces(ctx context.Context, example, dir string, tools []string) (map[string]string, error) {
	ws := map[string]string{}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	for _, name := range tools {
		d := filepath.Join(dir, name)
		if err := runCmd(ctx, "", nil, "cp", "-a", example, d); err != nil {
			return nil, err
		}
		ws[name] = d
		var files map[string]string
		switch name {
		case "docker":
			files = map[string]string{"Dockerfile": dockerfile, ".dockerignore": dockerignore}
		case "ko":
			files = map[string]string{".ko.yaml": koConfig}
			if err := runCmd(ctx, "", nil, "cp", "-a", filepath.Join(d, "static"), filepath.Join(d, "kodata")); err != nil {
				return nil, err
			}
		}
		for f, content := range files {
			if err := os.WriteFile(filepath.Join(d, f), []byte(content), 0o644); err != nil {
				return nil, err
			}
		}
	}
	return ws, nil
}

// edits changes the app's files the same way in every workspace; every edit
// gives content not seen before, so no tool can find it in a cache.
type edits struct {
	tools          []*tool
	origStatic     []byte
	origMain       []byte
	staticN, mainN int
}

// mainMarker is the string literal the main.go edit changes, so the binary
// really differs (a comment would give an identical binary).
const mainMarker = `listening on %s"`

func newEdits(ws string, tools []*tool) (*edits, error) {
	e := &edits{tools: tools}
	var err error
	if e.origStatic, err = os.ReadFile(filepath.Join(ws, "static", "index.html")); err != nil {
		return nil, err
	}
	if e.origMain, err = os.ReadFile(filepath.Join(ws, "main.go")); err != nil {
		return nil, err
	}
	if !bytes.Contains(e.origMain, []byte(mainMarker)) {
		return nil, fmt.Errorf("examples/goapp/main.go no longer contains %q, which the main.go edit changes", mainMarker)
	}
	return e, nil
}

func (e *edits) static() error {
	e.staticN++
	content := fmt.Appendf(bytes.Clone(e.origStatic), "<!-- buildbench edit %d -->\n", e.staticN)
	for _, t := range e.tools {
		if err := os.WriteFile(filepath.Join(t.ws, t.staticPath), content, 0o644); err != nil {
			return err
		}
	}
	return nil
}

func (e *edits) main() error {
	e.mainN++
	content := bytes.Replace(e.origMain, []byte(mainMarker), fmt.Appendf(nil, `listening on %%s (buildbench edit %d)"`, e.mainN), 1)
	for _, t := range e.tools {
		if err := os.WriteFile(filepath.Join(t.ws, "main.go"), content, 0o644); err != nil {
			return err
		}
	}
	return nil
}
