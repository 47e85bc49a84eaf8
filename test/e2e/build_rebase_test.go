package e2e

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// updatesRepository is the suite scripts/aptrepo.sh serves with a newer
// tzdata, added to a copy of examples/goapp/berth.yaml.
const updatesRepository = `  - name: bookworm-updates
    url: ${APT_URL}
    suite: bookworm-updates
    components: [main]
`

// lockedVersion returns the version of a package in a berth.lock.
func lockedVersion(t testing.TB, lockPath, image, layer, pkg string) (version, repo string) {
	t.Helper()
	var lock struct {
		Layers []struct {
			Image, Variant, Layer string
			Packages              []struct{ Name, Version, Repository string }
		}
	}
	mustJSON(t, readFileString(t, lockPath), &lock)
	for _, l := range lock.Layers {
		if l.Image == image && l.Variant == "" && l.Layer == layer {
			for _, p := range l.Packages {
				if p.Name == pkg {
					return p.Version, p.Repository
				}
			}
		}
	}
	t.Fatalf("%s pins no %s in %s/%s", lockPath, pkg, image, layer)
	return "", ""
}

// TestBuildDiffRebase builds the base against bookworm and against bookworm
// plus bookworm-updates, checks that `berth diff` reports the tzdata update,
// builds the Go app from the first base in the registry and rebases it onto
// the second: the app's own layers stay byte-identical and the result runs.
func TestBuildDiffRebase(t *testing.T) {
	t.Parallel()
	env := newBuildEnv(t, false)
	reg := startRegistry(t)

	oldDir := copyExample(t, "goapp")
	oldBase, _ := env.build1(t, oldDir, "base", "--push", reg.Ref("build/base:bookworm"))

	newDir := copyExample(t, "goapp")
	editFile(t, filepath.Join(newDir, "berth.yaml"), "    components: [main]\n", "    components: [main]\n"+updatesRepository)
	// The copied lock pins bookworm only: resolve again with the new suite.
	env.berth(t, "lock", "-f", filepath.Join(newDir, "berth.yaml"))
	newBase, _ := env.build1(t, newDir, "base", "--push", reg.Ref("build/base:updates"))

	oldTZ, oldRepo := lockedVersion(t, filepath.Join(oldDir, "berth.lock"), "base", "os", "tzdata")
	newTZ, newRepo := lockedVersion(t, filepath.Join(newDir, "berth.lock"), "base", "os", "tzdata")
	if oldTZ == newTZ || oldRepo != "bookworm" || newRepo != "bookworm-updates" {
		t.Fatalf("tzdata locked at %s (%s) and %s (%s); want a newer version from bookworm-updates", oldTZ, oldRepo, newTZ, newRepo)
	}
	if oldBase.layer(t, "accounts").Digest != newBase.layer(t, "accounts").Digest {
		t.Errorf("the accounts layer changed with the package suite")
	}
	if oldBase.layer(t, "os").Digest == newBase.layer(t, "os").Digest {
		t.Fatalf("the os layer did not change with tzdata %s -> %s", oldTZ, newTZ)
	}

	t.Run("diff", func(t *testing.T) {
		var d struct {
			From, To string
			Files    []struct{ Path, Change string }
			Packages []struct{ Name, Change, From, To string }
		}
		mustJSON(t, env.berth(t, "diff", "--json", reg.Ref("build/base:bookworm"), reg.Ref("build/base:updates")), &d)
		if d.From != oldBase.Digest || d.To != newBase.Digest {
			t.Errorf("diff compared %s and %s, want %s and %s", d.From, d.To, oldBase.Digest, newBase.Digest)
		}
		want := fmt.Sprintf("[{tzdata changed %s %s}]", oldTZ, newTZ)
		if got := fmt.Sprint(d.Packages); got != want {
			t.Fatalf("diff packages %s, want %s", got, want)
		}
		var zoneinfo, status bool
		for _, f := range d.Files {
			zoneinfo = zoneinfo || strings.HasPrefix(f.Path, "/usr/share/zoneinfo/")
			status = status || f.Path == "/var/lib/dpkg/status.d/tzdata"
			if !strings.HasPrefix(f.Path, "/usr/share/zoneinfo") && !strings.Contains(f.Path, "tzdata") {
				t.Errorf("diff reports %s %s, which tzdata does not own", f.Change, f.Path)
			}
		}
		if !zoneinfo || !status {
			t.Errorf("diff files do not include zoneinfo changes (%v) and tzdata's status.d record (%v): %+v", zoneinfo, status, d.Files)
		}
		text := env.berth(t, "diff", reg.Ref("build/base:bookworm"), reg.Ref("build/base:updates"))
		if !strings.Contains(text, "tzdata") || !strings.Contains(text, oldTZ) || !strings.Contains(text, newTZ) {
			t.Errorf("berth diff does not name tzdata %s -> %s:\n%s", oldTZ, newTZ, text)
		}
	})

	// The app, built FROM the registry base (so its annotations name it).
	appDir := copyExample(t, "goapp")
	editFile(t, filepath.Join(appDir, "berth.yaml"), "    from: base\n", "    from: "+reg.Ref("build/base:bookworm")+"\n")
	app, _ := env.build1(t, appDir, "app", "--push", reg.Ref("build/app:v1"))
	appMan := registryManifest(t, reg, "build/app", "v1")
	oldMan := registryManifest(t, reg, "build/base", "bookworm")
	newMan := registryManifest(t, reg, "build/base", "updates")
	if got := appMan.Annotations["org.opencontainers.image.base.digest"]; got != oldBase.Digest {
		t.Fatalf("app's base.digest annotation %q, want %s", got, oldBase.Digest)
	}
	if got := appMan.Annotations["org.opencontainers.image.base.name"]; !strings.Contains(got, "build/base:bookworm") {
		t.Fatalf("app's base.name annotation %q does not name build/base:bookworm", got)
	}
	al, ol, nl := layerDigests(appMan), layerDigests(oldMan), layerDigests(newMan)
	if !slices.Equal(al[:len(ol)], ol) {
		t.Fatalf("app layers %v do not start with the base's %v", al, ol)
	}
	upper := al[len(ol):]
	if !slices.Equal(upper, digestsOf(app.Layers)) {
		t.Fatalf("app's own layers %v, build reported %v", upper, digestsOf(app.Layers))
	}

	var rb struct{ Digest, OldBase, NewBase string }
	mustJSON(t, env.berth(t, "rebase", "--json", reg.Ref("build/app:v1"), "--onto", reg.Ref("build/base:updates"),
		"--push", reg.Ref("build/app:v1-rebased")), &rb)
	rebased := registryManifest(t, reg, "build/app", "v1-rebased")
	rl := layerDigests(rebased)
	if !slices.Equal(rl[:len(nl)], nl) {
		t.Fatalf("rebased layers %v do not start with the new base's %v", rl, nl)
	}
	if !slices.Equal(rl[len(nl):], upper) {
		t.Fatalf("rebased app layers %v, before %v: not byte-identical", rl[len(nl):], upper)
	}
	if got := rebased.Annotations["org.opencontainers.image.base.digest"]; got != newBase.Digest {
		t.Errorf("rebased base.digest annotation %q, want the new base %s", got, newBase.Digest)
	}
	// Rebasing onto the updated base is the same change as building on it.
	var d struct {
		Packages []struct{ Name, Change, From, To string }
	}
	mustJSON(t, env.berth(t, "diff", "--json", reg.Ref("build/app:v1"), reg.Ref("build/app:v1-rebased")), &d)
	if got, want := fmt.Sprint(d.Packages), fmt.Sprintf("[{tzdata changed %s %s}]", oldTZ, newTZ); got != want {
		t.Errorf("diff app v1 vs rebased: packages %s, want %s", got, want)
	}

	t.Run("docker-run-rebased", func(t *testing.T) {
		d := startDockerd(t)
		ref := reg.Ref("build/app:v1-rebased")
		d.run(t, "pull", ref)
		port, err := freePort()
		if err != nil {
			t.Fatal(err)
		}
		id := d.runContainer(t, ref, nil, "-addr", fmt.Sprintf("127.0.0.1:%d", port))
		var v struct{ Version string }
		body := httpGetWhenUp(t, fmt.Sprintf("http://127.0.0.1:%d/version", port), 30*time.Second)
		if err := json.Unmarshal(body, &v); err != nil || v.Version != "1.0.0" {
			t.Fatalf("rebased app: GET /version = %s (%v), want version 1.0.0", body, err)
		}
		d.run(t, "exec", id, "/app/goapp", "-healthcheck", "-addr", fmt.Sprintf(":%d", port))
	})
}
