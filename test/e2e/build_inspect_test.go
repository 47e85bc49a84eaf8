package e2e

import (
	"archive/tar"
	"crypto/sha256"
	"fmt"
	"path/filepath"
	"slices"
	"sort"
	"testing"
)

// inspectReport is the part of `berth inspect --json` the tests check.
type inspectReport struct {
	Digest           string `json:"digest"`
	Size             int64  `json:"size"`
	UncompressedSize int64  `json:"uncompressedSize"`
	Files            int    `json:"files"`
	Inodes           int    `json:"inodes"`
	Layers           []struct {
		Index            int    `json:"index"`
		Concern          string `json:"concern"`
		Digest           string `json:"digest"`
		DiffID           string `json:"diffID"`
		Size             int64  `json:"size"`
		UncompressedSize int64  `json:"uncompressedSize"`
		Files            int    `json:"files"`
		Inodes           int    `json:"inodes"`
	} `json:"layers"`
}

// TestBuildInspect checks `berth inspect --json` against the layers berth
// built, read here independently: the static layer holds exactly the files
// the test put there, and every size, digest and count matches the blobs.
func TestBuildInspect(t *testing.T) {
	t.Parallel()
	env := newBuildEnv(t, false)
	dir := copyExample(t, "goapp")
	static := map[string]string{ // path in the image -> content
		"app/static/index.html":   readFileString(t, filepath.Join(dir, "static", "index.html")),
		"app/static/css/site.css": "body { font-family: sans-serif; }\n",
		"app/static/js/app.js":    "console.log('berth');\n",
		"app/static/img/logo.svg": `<svg xmlns="http://www.w3.org/2000/svg" width="1" height="1"/>` + "\n",
	}
	for p, c := range static {
		writeFile(t, dir, p[len("app/"):], c)
	}
	wantDirs := []string{"app", "app/static", "app/static/css", "app/static/img", "app/static/js"}

	layout := filepath.Join(t.TempDir(), "layout")
	built, _ := env.build1(t, dir, "app", "--oci-layout", layout)
	desc, man := layoutManifest(t, layout, "app")
	var rep inspectReport
	mustJSON(t, env.berth(t, "inspect", "--json", "oci-layout:"+layout+":app"), &rep)

	if rep.Digest != desc.Digest.String() {
		t.Fatalf("inspect digest %s, layout holds %s", rep.Digest, desc.Digest)
	}
	if len(rep.Layers) != len(man.Layers) {
		t.Fatalf("inspect lists %d layers, the manifest %d", len(rep.Layers), len(man.Layers))
	}
	wantConcerns := []string{"os", "accounts", "app", "static"}
	total := desc.Size + man.Config.Size
	totalRaw := desc.Size + man.Config.Size
	files, inodes := 0, 0
	for i, l := range rep.Layers {
		blob := layoutBlob(t, layout, man.Layers[i].Digest)
		raw, err := gunzip(blob)
		if err != nil {
			t.Fatalf("layer %d: %v", i, err)
		}
		entries := layoutLayerEntries(t, layout, man.Layers[i].Digest.String())
		nFiles := 0
		for _, e := range entries {
			if e.Type == tar.TypeReg {
				nFiles++
			}
		}
		got := fmt.Sprintf("concern=%s digest=%s diffID=%s size=%d uncompressed=%d files=%d inodes=%d",
			l.Concern, l.Digest, l.DiffID, l.Size, l.UncompressedSize, l.Files, l.Inodes)
		want := fmt.Sprintf("concern=%s digest=%s diffID=sha256:%x size=%d uncompressed=%d files=%d inodes=%d",
			wantConcerns[i], man.Layers[i].Digest, sha256.Sum256(raw), len(blob), len(raw), nFiles, len(entries))
		if got != want {
			t.Errorf("inspect layer %d:\n got %s\nwant %s", i, got, want)
		}
		total += int64(len(blob))
		totalRaw += int64(len(raw))
		files += nFiles
		inodes += len(entries)
	}
	if rep.Size != total || rep.UncompressedSize != totalRaw || rep.Files != files || rep.Inodes != inodes {
		t.Errorf("inspect totals size=%d uncompressed=%d files=%d inodes=%d; want %d, %d, %d, %d",
			rep.Size, rep.UncompressedSize, rep.Files, rep.Inodes, total, totalRaw, files, inodes)
	}

	// The static layer is exactly what the test wrote: four files, their
	// directories, nothing else.
	sl := built.layer(t, "static")
	entries := layoutLayerEntries(t, layout, sl.Digest)
	var gotFiles, gotDirs []string
	for p, e := range entries {
		switch e.Type {
		case tar.TypeReg:
			gotFiles = append(gotFiles, p)
			if string(e.Content) != static[p] {
				t.Errorf("static layer %s = %q, want %q", p, e.Content, static[p])
			}
		case tar.TypeDir:
			gotDirs = append(gotDirs, p)
		default:
			t.Errorf("static layer: unexpected entry %s (type %c)", p, e.Type)
		}
	}
	sort.Strings(gotFiles)
	sort.Strings(gotDirs)
	wantFiles := make([]string, 0, len(static))
	for p := range static {
		wantFiles = append(wantFiles, p)
	}
	sort.Strings(wantFiles)
	if !slices.Equal(gotFiles, wantFiles) || !slices.Equal(gotDirs, wantDirs) {
		t.Fatalf("static layer files %v dirs %v; want files %v dirs %v", gotFiles, gotDirs, wantFiles, wantDirs)
	}
	si := rep.Layers[3]
	if si.Files != len(static) || si.Inodes != len(static)+len(wantDirs) || sl.Files != len(static) {
		t.Errorf("static layer: inspect says %d files, %d inodes; build says %d files; want %d files, %d inodes",
			si.Files, si.Inodes, sl.Files, len(static), len(static)+len(wantDirs))
	}
	if si.Size != sl.Size || si.Digest != sl.Digest || si.DiffID != sl.DiffID {
		t.Errorf("static layer: inspect %s/%s size %d, build %s/%s size %d", si.Digest, si.DiffID, si.Size, sl.Digest, sl.DiffID, sl.Size)
	}
}
