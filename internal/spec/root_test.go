package spec

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// project makes root/app/berth.yaml with content and a sibling directory
// root/secret holding a file, the thing an escape would read.
func project(t *testing.T, content string) (root, file string) {
	t.Helper()
	root = t.TempDir()
	for _, d := range []string{"app", "secret"} {
		if err := os.Mkdir(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(root, "secret", "shadow"), []byte("root:x:\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	file = filepath.Join(root, "app", "berth.yaml")
	if err := os.WriteFile(file, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return root, file
}

func wantLoadError(t *testing.T, file string, o LoadOptions, wants ...string) {
	t.Helper()
	o.LookupEnv = noEnv
	_, err := Load(file, o)
	if err == nil {
		t.Fatalf("Load: no error, want %q", wants)
	}
	for _, w := range wants {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q\nlacks %q", err, w)
		}
	}
}

// TestContextEscapes holds the reproduction of the hardening issue:
// context: ../../../etc made /etc the build context, so files: [{src:
// shadow}] copied the host's /etc/shadow into the image.
func TestContextEscapes(t *testing.T) {
	files := "images:\n  app:\n    layers:\n      - {name: f, files: [{src: shadow, dest: /shadow}]}\n"
	t.Run("relative", func(t *testing.T) {
		_, file := project(t, "context: ../secret\n"+files)
		wantLoadError(t, file, LoadOptions{}, "berth.yaml:1:10: context:", `"../secret" resolves to`, "outside the directory of berth.yaml", "--context")
	})
	t.Run("etc", func(t *testing.T) {
		_, file := project(t, "context: ../../../../../../../../etc\n"+files)
		wantLoadError(t, file, LoadOptions{}, "berth.yaml:1:10: context:", "resolves to /etc, outside")
	})
	t.Run("absolute", func(t *testing.T) {
		root, file := project(t, "")
		os.WriteFile(file, []byte("context: "+filepath.Join(root, "secret")+"\n"+files), 0o644)
		wantLoadError(t, file, LoadOptions{}, "berth.yaml:1:10: context:", "outside the directory of berth.yaml")
	})
	t.Run("symlink", func(t *testing.T) {
		root, file := project(t, "context: inside\n"+files)
		if err := os.Symlink(filepath.Join(root, "secret"), filepath.Join(root, "app", "inside")); err != nil {
			t.Fatal(err)
		}
		wantLoadError(t, file, LoadOptions{}, "berth.yaml:1:10: context:", `"inside" resolves to `+filepath.Join(root, "secret"))
	})
	t.Run("slash without --context", func(t *testing.T) {
		_, file := project(t, "context: /\n"+files)
		wantLoadError(t, file, LoadOptions{}, `context: "/" resolves to /, outside`)
	})
	t.Run("outside --context", func(t *testing.T) {
		root, file := project(t, "context: ../..\n"+files)
		wantLoadError(t, file, LoadOptions{Root: root}, "outside the --context directory "+root)
	})
}

// TestContextWidened: --context DIR lets the file's context: reach DIR, and
// is the context when the file names none.
func TestContextWidened(t *testing.T) {
	root, file := project(t, "context: ../secret\n")
	f, err := Load(file, LoadOptions{Root: root, LookupEnv: noEnv})
	if err != nil {
		t.Fatal(err)
	}
	if f.Context != filepath.Join(root, "secret") || f.Root != root {
		t.Errorf("Context = %q, Root = %q", f.Context, f.Root)
	}

	// context: / was never allowed through the prefix check ("//").
	_, file = project(t, "context: /\n")
	f, err = Load(file, LoadOptions{Root: "/", LookupEnv: noEnv})
	if err != nil {
		t.Fatalf("context: / with --context /: %v", err)
	}
	if f.Context != "/" {
		t.Errorf("Context = %q, want /", f.Context)
	}

	root, file = project(t, "images: {}\n")
	f, err = Load(file, LoadOptions{Root: root, LookupEnv: noEnv})
	if err != nil {
		t.Fatal(err)
	}
	if f.Context != root {
		t.Errorf("without context:, Context = %q, want the --context directory %q", f.Context, root)
	}
	f, err = Load(file, LoadOptions{LookupEnv: noEnv})
	if err != nil {
		t.Fatal(err)
	}
	if f.Context != filepath.Join(root, "app") {
		t.Errorf("default Context = %q, want the file's directory", f.Context)
	}

	if _, err := Load(file, LoadOptions{Root: filepath.Join(root, "nope"), LookupEnv: noEnv}); err == nil || !strings.Contains(err.Error(), "--context") {
		t.Errorf("missing --context directory: err = %v", err)
	}
}

func TestWithin(t *testing.T) {
	for _, c := range []struct {
		root, p string
		want    bool
	}{
		{"/", "/", true}, {"/", "/etc", true}, {"/a", "/a", true}, {"/a", "/a/b", true},
		{"/a", "/ab", false}, {"/a", "/", false}, {"/a/b", "/a", false},
	} {
		if got := within(c.root, c.p); got != c.want {
			t.Errorf("within(%q, %q) = %v", c.root, c.p, got)
		}
	}
}

// TestHostPathEscapes: the other fields that name host paths (a base image
// on disk, a keyring) and repository paths stay inside the root too.
func TestHostPathEscapes(t *testing.T) {
	t.Run("oci-layout", func(t *testing.T) {
		_, file := project(t, "images:\n  app: {from: \"oci-layout:../secret:app\"}\n")
		wantLoadError(t, file, LoadOptions{}, "berth.yaml:2:15: images.app.from:", "outside the directory of berth.yaml")
	})
	t.Run("oci-layout symlink", func(t *testing.T) {
		root, file := project(t, "images:\n  app: {from: \"oci-layout:out:app\"}\n")
		os.Symlink(filepath.Join(root, "secret"), filepath.Join(root, "app", "out"))
		wantLoadError(t, file, LoadOptions{}, "images.app.from:", "out resolves to "+filepath.Join(root, "secret"))
	})
	t.Run("docker-archive", func(t *testing.T) {
		_, file := project(t, "images:\n  app: {from: \"docker-archive:/etc/passwd\"}\n")
		wantLoadError(t, file, LoadOptions{}, "images.app.from:", "/etc/passwd resolves to /etc/passwd, outside")
	})
	t.Run("keyring", func(t *testing.T) {
		_, file := project(t, "repositories:\n  - {name: r, url: \"http://127.0.0.1/d\", suite: s, keyring: ../secret/shadow}\n")
		wantLoadError(t, file, LoadOptions{}, "repositories[0].keyring:", "outside the directory of berth.yaml", "and the system keyring directories")
	})
	t.Run("suite", func(t *testing.T) {
		_, file := project(t, "repositories:\n  - {name: r, url: \"file:///srv/d\", suite: ../../../etc}\n")
		wantLoadError(t, file, LoadOptions{}, "repositories[0].suite: invalid suite \"../../../etc\"")
	})
	t.Run("component", func(t *testing.T) {
		_, file := project(t, "repositories:\n  - {name: r, url: \"file:///srv/d\", suite: s, components: [main/../../x]}\n")
		wantLoadError(t, file, LoadOptions{}, "repositories[0].components[0]: invalid component")
	})
	t.Run("file repository", func(t *testing.T) {
		_, file := project(t, "repositories:\n  - {name: r, url: \"file:///etc\", suite: s}\n")
		wantLoadError(t, file, LoadOptions{LookupEnv: noEnv}, "repositories[0].url:", "\"file:///etc\" resolves to /etc, outside", "$BERTH_APT_URL")
	})
	t.Run("file repository of the operator", func(t *testing.T) {
		root, file := project(t, "repositories:\n  - {name: r, url: \"${BERTH_APT_URL}\", suite: s}\n")
		mirror := filepath.Join(root, "secret")
		env := func(k string) (string, bool) {
			if k == "BERTH_APT_URL" {
				return "file://" + mirror, true
			}
			return "", false
		}
		if _, err := Load(file, LoadOptions{LookupEnv: env}); err != nil {
			t.Fatalf("the operator's $BERTH_APT_URL: %v", err)
		}
		root, file = project(t, "repositories:\n  - {name: r, url: \"file://${PWD}/apt\", suite: s}\n")
		pwd := func(k string) (string, bool) { return filepath.Join(root, "app"), k == "PWD" }
		if _, err := Load(file, LoadOptions{LookupEnv: pwd}); err != nil {
			t.Fatalf("a repository inside the root: %v", err)
		}
	})
	t.Run("widened", func(t *testing.T) {
		root, file := project(t, "images:\n  app: {from: \"oci-layout:../secret:app\"}\n")
		if _, err := Load(file, LoadOptions{Root: root, LookupEnv: noEnv}); err != nil {
			t.Fatalf("with --context: %v", err)
		}
	})
}

// TestGoFieldsEscapes: ldflags are passed to the linker, which writes files
// for -o, -cpuprofile and -memprofile (an attacker-compiled binary, mode
// 0755, anywhere on the build host); package and tags reach go build.
func TestGoFieldsEscapes(t *testing.T) {
	goLayer := func(fields string) string {
		return "images:\n  app:\n    layers:\n      - name: g\n        go: {package: ., output: /app, " + fields + "}\n"
	}
	for _, c := range []struct{ fields, want string }{
		{`ldflags: "-o /tmp/pwned"`, `berth.yaml:5:49: images.app.layers[0].go.ldflags: linker flag "-o" is not allowed`},
		{`ldflags: "-s -w -cpuprofile=/tmp/cpu"`, `go.ldflags: linker flag "-cpuprofile" is not allowed`},
		{`ldflags: "-memprofile /tmp/mem"`, `go.ldflags: linker flag "-memprofile" is not allowed`},
		{`ldflags: "-toolexec /bin/sh"`, `go.ldflags: linker flag "-toolexec" is not allowed`},
		{`ldflags: "main=-o /tmp/x"`, `go.ldflags: "main=-o /tmp/x": must start with a flag`},
		{`ldflags: "-linkmode=external -extld=/tmp/sh"`, `linker flag "-linkmode" is not allowed`},
		{`tags: ["a -toolexec=/x"]`, `go.tags[0]: invalid build tag`},
	} {
		_, file := project(t, goLayer(c.fields))
		wantLoadError(t, file, LoadOptions{}, c.want)
	}
	for _, c := range []struct{ pkg, want string }{
		{"/etc", `go.package: package "/etc" must be relative`},
		{"../secret", `go.package: package "../secret" must not contain ".."`},
		{"-toolexec=/bin/sh", `go.package: package "-toolexec=/bin/sh" looks like a flag`},
		{"./...", "patterns are not accepted"},
	} {
		_, file := project(t, "images:\n  app:\n    layers:\n      - name: g\n        go: {package: \""+c.pkg+"\", output: /app}\n")
		wantLoadError(t, file, LoadOptions{}, c.want)
	}
	_, file := project(t, goLayer(`ldflags: "-s -w -X main.version=1.2 -X 'main.msg=a b' -buildid="`))
	if _, err := Load(file, LoadOptions{LookupEnv: noEnv}); err != nil {
		t.Fatalf("allowed ldflags: %v", err)
	}
}
