package e2e

import (
	"archive/tar"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// TestBuildGoApp builds examples/goapp: the Go app on the distroless-like
// base, and its dev variant, which adds busybox on top of every prod layer;
// then runs the app with docker and asks it for its version.
func TestBuildGoApp(t *testing.T) {
	t.Parallel()
	env := newBuildEnv(t, false)
	dir := copyExample(t, "goapp")
	tmp := t.TempDir()

	prodLayout, devLayout := filepath.Join(tmp, "prod"), filepath.Join(tmp, "dev")
	prod, _ := env.build1(t, dir, "app", "--oci-layout", prodLayout)
	dev, _ := env.build1(t, dir, "app", "--variant", "dev", "--oci-layout", devLayout)
	if prod.Digest == dev.Digest {
		t.Fatalf("prod and dev have the same digest %s", prod.Digest)
	}
	if prod.Base != "base" || dev.Base != "base" {
		t.Errorf("base of prod %q, dev %q; want the file's image \"base\"", prod.Base, dev.Base)
	}

	_, pm := layoutManifest(t, prodLayout, "app")
	_, dm := layoutManifest(t, devLayout, "app")
	pl, dl := layerDigests(pm), layerDigests(dm)
	// base (os, accounts) + app + static; dev adds tools on top of all of them.
	if len(pl) != 4 {
		t.Fatalf("prod image has %d layers %v, want 4 (os, accounts, app, static)", len(pl), pl)
	}
	if len(dl) != len(pl)+1 || !slices.Equal(dl[:len(pl)], pl) {
		t.Fatalf("dev layers %v do not start with every prod layer %v plus one", dl, pl)
	}
	tools := dev.layer(t, "tools")
	if dl[len(dl)-1] != tools.Digest {
		t.Fatalf("dev's top layer %s is not the tools layer %s", dl[len(dl)-1], tools.Digest)
	}
	entries := layoutLayerEntries(t, devLayout, tools.Digest)
	if e, ok := entries["bin/busybox"]; !ok || e.Type != tar.TypeReg {
		t.Fatalf("tools layer has no regular bin/busybox")
	}
	for _, l := range []string{"app", "static"} {
		if p, d := prod.layer(t, l), dev.layer(t, l); p.Digest != d.Digest {
			t.Errorf("layer %s: prod %s, dev %s; the variant must reuse it", l, p.Digest, d.Digest)
		}
	}

	t.Run("docker-run", func(t *testing.T) {
		archive := filepath.Join(tmp, "app.tar")
		env.build1(t, dir, "app", "--docker-archive", archive, "--tag", "e2e")
		d := startDockerd(t)
		d.run(t, "load", "-i", archive)
		port, err := freePort()
		if err != nil {
			t.Fatal(err)
		}
		addr := fmt.Sprintf("127.0.0.1:%d", port)
		id := d.runContainer(t, "app:e2e", nil, "-addr", addr)
		var v struct{ Version string }
		body := httpGetWhenUp(t, "http://"+addr+"/version", 30*time.Second)
		if err := json.Unmarshal(body, &v); err != nil || v.Version != "1.0.0" {
			t.Fatalf("GET /version: %s (%v); want version 1.0.0 (vars.VERSION, via -ldflags -X)", body, err)
		}
		page := httpGetWhenUp(t, "http://"+addr+"/", 5*time.Second)
		if want := readFileString(t, filepath.Join(dir, "static", "index.html")); string(page) != want {
			t.Fatalf("GET / = %q, want static/index.html %q", page, want)
		}
		// The image's HEALTHCHECK command works in the distroless image
		// (it dials 127.0.0.1 + -addr, so it takes ":PORT").
		if u := strings.TrimSpace(d.run(t, "exec", id, "/app/goapp", "-healthcheck", "-addr", fmt.Sprintf(":%d", port))); u != "" {
			t.Fatalf("-healthcheck printed %q", u)
		}
	})
}

// TestBuildIncremental: a rebuild of unchanged inputs compresses nothing,
// and changing one file rebuilds that one layer, and pushing the result
// uploads that layer's blob, the config and the manifest, nothing more.
func TestBuildIncremental(t *testing.T) {
	t.Parallel()
	env := newBuildEnv(t, false)
	dir := copyExample(t, "goapp")
	reg := startRegistry(t)
	rec := newRecorder(t, reg)

	first, _ := env.build(t, dir)
	again, took := env.build(t, dir)
	t.Logf("no-op rebuild of base and app: %v", took.Round(time.Millisecond))
	if len(again) != 2 {
		t.Fatalf("berth build without names built %d images, want 2 (base, app)", len(again))
	}
	for i, img := range again {
		if img.Digest != first[i].Digest {
			t.Errorf("no-op rebuild: %s digest %s, was %s", img.Image, img.Digest, first[i].Digest)
		}
		for _, l := range img.Layers {
			if !l.Cached {
				t.Errorf("no-op rebuild: %s/%s not cached (rebuilt and recompressed)", img.Image, l.Name)
			}
		}
	}
	// Compressing the os layer alone (~10 MB of gzip) takes seconds; a
	// rebuild that compresses nothing stays far below that.
	if took > 5*time.Second {
		t.Errorf("no-op rebuild took %v", took)
	}

	v1, _ := env.build1(t, dir, "app", "--push", rec.Ref("build/app:v1"))
	rec.Reset()

	writeFile(t, dir, "static/index.html", "<!doctype html>\n<title>changed</title>\n<p>one changed file\n")
	start := time.Now()
	v2, _ := env.build1(t, dir, "app", "--push", rec.Ref("build/app:v2"))
	t.Logf("one-file rebuild + push: %v", time.Since(start).Round(time.Millisecond))
	if v2.Digest == v1.Digest {
		t.Fatalf("changing static/index.html did not change the image digest %s", v1.Digest)
	}
	for i, l := range v2.Layers {
		changed := l.Digest != v1.Layers[i].Digest
		switch {
		case l.Name == "static" && (l.Cached || !changed):
			t.Errorf("static layer: cached=%v, digest %s (was %s); want rebuilt with a new digest", l.Cached, l.Digest, v1.Layers[i].Digest)
		case l.Name != "static" && (!l.Cached || changed):
			t.Errorf("layer %s: cached=%v, digest %s (was %s); want it reused", l.Name, l.Cached, l.Digest, v1.Layers[i].Digest)
		}
	}

	static := v2.layer(t, "static")
	man := registryManifest(t, reg, "build/app", "v2")
	// The push also attached the new image's three attestations (SBOMs,
	// provenance): referrer manifests PUT by digest, each with its
	// statement blob (the empty config blob is in the repository since v1).
	ref := httpDo(t, http.MethodGet, reg.URL("/v2/build/app/referrers/"+v2.Digest), nil)
	var referrers ocispec.Index
	mustJSON(t, string(ref.Body), &referrers)
	if len(referrers.Manifests) != 3 {
		t.Fatalf("v2 has %d referrers, want 3 attestations: %s", len(referrers.Manifests), ref.Body)
	}
	attestation, attestationManifests := map[string]bool{}, map[string]bool{}
	for _, d := range referrers.Manifests {
		attestationManifests[d.Digest.String()] = true
		for _, l := range registryManifest(t, reg, "build/app", d.Digest.String()).Layers {
			attestation[l.Digest.String()] = true
		}
	}
	uploads := map[string]int{}
	attested := 0
	for _, q := range rec.Requests(func(q recordedRequest) bool {
		return q.Method == http.MethodPut && strings.Contains(q.Path, "/blobs/uploads/")
	}) {
		if q.Status != http.StatusCreated {
			t.Errorf("upload %s answered %d", q, q.Status)
		}
		if attestation[q.Query.Get("digest")] {
			attested++
			continue
		}
		uploads[q.Query.Get("digest")]++
	}
	want := map[string]int{static.Digest: 1, man.Config.Digest.String(): 1}
	if fmt.Sprint(uploads) != fmt.Sprint(want) || attested != 3 {
		t.Fatalf("push of the one-file change uploaded %v and %d attestation blobs, want only the static layer %s and the config %s, and 3; requests:\n%s",
			uploads, attested, static.Digest, man.Config.Digest, rec.Dump())
	}
	if posts := rec.Requests(func(q recordedRequest) bool {
		return q.Method == http.MethodPost && strings.HasSuffix(q.Path, "/blobs/uploads/")
	}); len(posts) != 2+3 {
		t.Fatalf("push started %d uploads, want 2 (static layer, config) + 3 attestations; requests:\n%s", len(posts), rec.Dump())
	}
	var imagePuts int
	for _, q := range rec.Requests(func(q recordedRequest) bool {
		return q.Method == http.MethodPut && strings.Contains(q.Path, "/manifests/")
	}) {
		if q.Status != http.StatusCreated {
			t.Errorf("manifest PUT %s answered %d", q, q.Status)
		}
		if !attestationManifests[q.Path[strings.LastIndex(q.Path, "/")+1:]] {
			imagePuts++
		}
	}
	if imagePuts != 1 {
		t.Fatalf("want one image manifest PUT answered 201 (and the attestations'); requests:\n%s", rec.Dump())
	}
	t.Logf("one-file change push requests:\n%s", rec.Dump())
}
