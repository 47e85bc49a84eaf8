package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// nginxPort is where examples/nginx/nginx.conf listens.
const nginxPort = 8080

// distrolessFiles are files each package of the distroless-like base
// (base-files, netbase, tzdata, ca-certificates, libc6) must put in the os
// layer, with the dpkg record berth writes for scanners.
var distrolessFiles = []string{
	"etc/os-release",                    // base-files
	"etc/services",                      // netbase
	"usr/share/zoneinfo/UTC",            // tzdata
	"usr/share/ca-certificates/mozilla", // ca-certificates (a directory: checked as a prefix)
	"lib/x86_64-linux-gnu/libc.so.6",    // libc6
	"var/lib/dpkg/status.d/base-files",
	"var/lib/dpkg/status.d/netbase",
	"var/lib/dpkg/status.d/tzdata",
	"var/lib/dpkg/status.d/ca-certificates",
	"var/lib/dpkg/status.d/libc6",
}

// TestBuildNginx builds examples/nginx (the distroless-like base packages
// plus nginx-light) from the local apt repository with a cold cache, runs it
// with docker and fetches its page, and pushes the same image to berth's
// registry, from where skopeo pulls it back with the same digest.
func TestBuildNginx(t *testing.T) {
	t.Parallel()
	env := newBuildEnv(t, true)
	dir := copyExample(t, "nginx")
	tmp := t.TempDir()

	layout := filepath.Join(tmp, "layout")
	cold, took := env.build1(t, dir, "nginx", "--oci-layout", layout)
	t.Logf("cold build of nginx (base packages + nginx-light, empty cache): %v", took.Round(time.Millisecond))
	for _, l := range cold.Layers {
		if l.Cached {
			t.Errorf("cold build: layer %s reported cached", l.Name)
		}
	}
	if got := layerNames(cold); !slices.Equal(got, []string{"os", "nginx", "accounts", "runtime-dirs", "site"}) {
		t.Fatalf("layers %v, want the five of examples/nginx/berth.yaml", got)
	}
	if _, err := os.Stat(filepath.Join(dir, "berth.lock")); err != nil {
		t.Errorf("a build that resolved packages wrote no berth.lock: %v", err)
	}

	desc, man := layoutManifest(t, layout, "nginx")
	if desc.Digest.String() != cold.Digest {
		t.Fatalf("OCI layout holds %s, berth build reported %s", desc.Digest, cold.Digest)
	}
	if got, want := layerDigests(man), digestsOf(cold.Layers); !slices.Equal(got, want) {
		t.Fatalf("manifest layers %v, berth build reported %v", got, want)
	}

	t.Run("base-packages", func(t *testing.T) {
		os := layoutLayerEntries(t, layout, man.Layers[0].Digest.String())
		for _, want := range distrolessFiles {
			if !hasEntryOrPrefix(os, want) {
				t.Errorf("os layer has no %s", want)
			}
		}
		ng := layoutLayerEntries(t, layout, man.Layers[1].Digest.String())
		for _, want := range []string{"usr/sbin/nginx", "etc/nginx/mime.types", "var/lib/dpkg/status.d/nginx-light"} {
			if _, ok := ng[want]; !ok {
				t.Errorf("nginx layer has no %s", want)
			}
		}
		// A package the os layer installed is not installed again above it.
		if _, ok := ng["var/lib/dpkg/status.d/libc6"]; ok {
			t.Errorf("nginx layer installs libc6 again")
		}
	})

	t.Run("docker-run", func(t *testing.T) {
		archive := filepath.Join(tmp, "nginx.tar")
		again, _ := env.build1(t, dir, "nginx", "--docker-archive", archive, "--tag", "e2e")
		if again.Digest != cold.Digest {
			t.Fatalf("second build of the same file: digest %s, first %s", again.Digest, cold.Digest)
		}
		d := startDockerd(t)
		if out := d.run(t, "load", "-i", archive); !strings.Contains(out, "nginx:e2e") {
			t.Fatalf("docker load printed %q, want it to name nginx:e2e", out)
		}
		// The image ID is the config digest: docker loaded our config.
		if id := strings.TrimSpace(d.run(t, "image", "inspect", "--format", "{{.Id}}", "nginx:e2e")); id != man.Config.Digest.String() {
			t.Fatalf("docker image ID %s, want config digest %s", id, man.Config.Digest)
		}

		// The dockerd has no bridge, so the container shares the host's
		// network. The image's own nginx.conf listens on 8080; when that
		// port is taken on this machine, the same image runs with a copy
		// of its config listening elsewhere (-c after the entrypoint).
		port := nginxPort
		var runArgs, args []string
		if !portFree(port) {
			p, err := freePort()
			if err != nil {
				t.Fatal(err)
			}
			port = p
			conf := filepath.Join(tmp, "alt.conf")
			orig := readFileString(t, filepath.Join(dir, "nginx.conf"))
			if !strings.Contains(orig, fmt.Sprintf("listen %d;", nginxPort)) {
				t.Fatalf("examples/nginx/nginx.conf does not listen on %d", nginxPort)
			}
			writeFile(t, tmp, "alt.conf", strings.Replace(orig, fmt.Sprintf("listen %d;", nginxPort), fmt.Sprintf("listen 127.0.0.1:%d;", port), 1))
			runArgs = []string{"-v", conf + ":/etc/nginx/berth-e2e.conf:ro"}
			args = []string{"-c", "/etc/nginx/berth-e2e.conf"}
			t.Logf("port %d is taken; nginx listens on %d with an edited copy of its config", nginxPort, port)
		}
		d.runContainer(t, "nginx:e2e", runArgs, args...)
		page := httpGetWhenUp(t, fmt.Sprintf("http://127.0.0.1:%d/", port), 30*time.Second)
		if want := readFileString(t, filepath.Join(dir, "html", "index.html")); string(page) != want {
			t.Fatalf("GET / from the nginx container:\n%s\nwant examples/nginx/html/index.html:\n%s", page, want)
		}
	})

	t.Run("push-skopeo", func(t *testing.T) {
		reg := startRegistry(t)
		ref := reg.Ref("build/nginx:v1")
		pushed, _ := env.build1(t, dir, "nginx", "--push", ref)
		if pushed.Digest != cold.Digest {
			t.Fatalf("pushed build: digest %s, first build %s", pushed.Digest, cold.Digest)
		}
		for _, l := range pushed.Layers {
			if !l.Cached {
				t.Errorf("rebuild for push: layer %s not cached", l.Name)
			}
		}
		if r := getManifest(t, reg, "build/nginx", cold.Digest); r.Status != 200 {
			t.Fatalf("registry has no manifest %s after --push: %d %s", cold.Digest, r.Status, r.Body)
		}
		sk := newSkopeo(t)
		out := filepath.Join(tmp, "pulled")
		digestFile := filepath.Join(tmp, "pulled.digest")
		sk.run(t, "copy", "--src-tls-verify=false", "--digestfile", digestFile, "docker://"+ref, "oci:"+out+":nginx")
		if got := strings.TrimSpace(readFileString(t, digestFile)); got != cold.Digest {
			t.Fatalf("skopeo copied digest %s, berth built %s", got, cold.Digest)
		}
		pd, pm := layoutManifest(t, out, "nginx")
		if pd.Digest.String() != cold.Digest || !slices.Equal(layerDigests(pm), layerDigests(man)) {
			t.Fatalf("skopeo's layout holds %s with layers %v; built %s with %v", pd.Digest, layerDigests(pm), cold.Digest, layerDigests(man))
		}
	})
}

func layerNames(b builtImage) []string {
	var out []string
	for _, l := range b.Layers {
		out = append(out, l.Name)
	}
	return out
}

func digestsOf(ls []builtLayer) []string {
	var out []string
	for _, l := range ls {
		out = append(out, l.Digest)
	}
	return out
}

func hasEntryOrPrefix(entries map[string]tarEntry, p string) bool {
	if _, ok := entries[p]; ok {
		return true
	}
	for name := range entries {
		if strings.HasPrefix(name, p+"/") {
			return true
		}
	}
	return false
}
