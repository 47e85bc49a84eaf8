package inspect

import (
	"encoding/json"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
)

// efficiencyImage is the fixture whose dive numbers are computed by hand in
// TestInspectNumbers.
func efficiencyImage(t *testing.T) (v1.Image, [][]byte) {
	t.Helper()
	l0 := tarBytes(t, []ent{
		dir("etc/"), sized("etc/a", 100), sized("etc/b", 50),
		dir("var/"), dir("var/cache/"), sized("var/cache/x", 30), sized("var/cache/y", 20),
		symlink("bin", "usr/bin"), dir("tmp/"),
		dir("opt/"), sized("opt/old", 5),
	})
	l1 := tarBytes(t, []ent{
		dir("etc/"), sized("etc/a", 120), whiteout("etc/.wh.b"),
		dir("var/"), whiteout("var/.wh.cache"),
		dir("opt/"), whiteout("opt/.wh..wh..opq"), sized("opt/z", 10),
		sized("app", 200),
	})
	l2 := tarBytes(t, []ent{
		dir("tmp/"), sized("app", 200), sized("etc/a", 120), // etc/ implied, no header
	})
	img := appendLayers(t, ociBase(t), []v1.Layer{layerOf(t, l0), layerOf(t, l1), layerOf(t, l2)}, []string{"os", "app", "x"})
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.History = []v1.History{
		{CreatedBy: "berth: os"},
		{CreatedBy: "berth: app"},
		{CreatedBy: "/bin/sh -c #(nop)  ENV X=1", EmptyLayer: true},
		{CreatedBy: "/bin/sh -c #(nop) COPY file:abc in / "},
	}
	cf.Config.Env = []string{"PATH=/usr/bin", "X=1"}
	cf.Config.Entrypoint = []string{"/app"}
	cf.Config.Cmd = []string{"--port", "8080"}
	cf.Config.User = "65532:65532"
	cf.Config.WorkingDir = "/home/nonroot"
	cf.Config.ExposedPorts = map[string]struct{}{"8080/tcp": {}, "53/udp": {}}
	cf.Config.Volumes = map[string]struct{}{"/data": {}}
	cf.Config.Labels = map[string]string{"org.opencontainers.image.version": "1.2.3"}
	cf.Config.StopSignal = "SIGTERM"
	cf.Config.Healthcheck = &v1.HealthConfig{Test: []string{"CMD", "/app", "-healthcheck"}, Interval: 10 * time.Second, Retries: 3}
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	img = mutate.Annotations(img, map[string]string{"org.opencontainers.image.source": "https://example.com/app"}).(v1.Image)
	return img, [][]byte{l0, l1, l2}
}

func TestInspectNumbers(t *testing.T) {
	img, tars := efficiencyImage(t)
	r, err := InspectWith(img, Options{Top: 10})
	if err != nil {
		t.Fatal(err)
	}

	// dive, by hand (paths scored per layer: leaves, whiteouts at the path
	// they remove, the opaque marker ignored):
	//   /bin 0 | /etc/a 100,120,120 | /etc/b 50,0 (whiteout of a file: 0)
	//   /tmp 0,0 | /var/cache/x 30 | /var/cache/y 20 | /opt/old 5
	//   /var/cache 50 (whiteout of a dir: 0 + 30 + 20) | /opt/z 10 | /app 200,200
	// min sum = 0+100+0+0+30+20+5+50+10+200 = 415
	// all sum = 0+340+50+0+30+20+5+50+10+400 = 905
	// wasted  = 340 (/etc/a) + 50 (/etc/b) + 0 (/tmp) + 400 (/app) = 790
	// layer sizes (sum of entry sizes) 205, 330, 320: user = 650
	if want := 415.0 / 905.0; math.Abs(r.Efficiency-want) > 1e-12 {
		t.Errorf("efficiency %v, want %v", r.Efficiency, want)
	}
	if r.WastedBytes != 790 {
		t.Errorf("wasted %d, want 790", r.WastedBytes)
	}
	if r.ContentSize != 855 || r.UserContentSize != 650 {
		t.Errorf("content %d/%d, want 855/650", r.ContentSize, r.UserContentSize)
	}
	if want := 790.0 / 650.0; math.Abs(r.WastedUserPercent-want) > 1e-12 {
		t.Errorf("wasted user %v, want %v", r.WastedUserPercent, want)
	}
	wantWaste := []Waste{
		{Path: "/app", Count: 2, Bytes: 400, Needed: 200},
		{Path: "/etc/a", Count: 3, Bytes: 340, Needed: 100},
		{Path: "/etc/b", Count: 2, Bytes: 50, Needed: 0},
		{Path: "/tmp", Count: 2, Bytes: 0, Needed: 0},
	}
	if !reflect.DeepEqual(r.Inefficiencies, wantWaste) {
		t.Errorf("inefficiencies %+v", r.Inefficiencies)
	}

	// Per layer.
	m, _ := img.Manifest()
	layers, _ := img.Layers()
	wantLayers := []struct {
		concern       string
		files, inodes int
		content       int64
	}{
		{"os", 5, 11, 205},
		{"app", 3, 9, 330},
		{"COPY file:abc in /", 2, 3, 320},
	}
	if len(r.Layers) != 3 {
		t.Fatalf("%d layers", len(r.Layers))
	}
	var size, usize int64
	for i, w := range wantLayers {
		got := r.Layers[i]
		diffID, _ := layers[i].DiffID()
		if got.Index != i || got.Concern != w.concern || got.Files != w.files || got.Inodes != w.inodes || got.ContentSize != w.content {
			t.Errorf("layer %d: %+v, want %+v", i, got, w)
		}
		if got.Digest != m.Layers[i].Digest.String() || got.DiffID != diffID.String() || got.Size != m.Layers[i].Size {
			t.Errorf("layer %d: digest/diffID/size %s %s %d", i, got.Digest, got.DiffID, got.Size)
		}
		if got.UncompressedSize != int64(len(tars[i])) {
			t.Errorf("layer %d: uncompressed %d, want %d", i, got.UncompressedSize, len(tars[i]))
		}
		size += m.Layers[i].Size
		usize += int64(len(tars[i]))
	}
	raw, _ := img.RawManifest()
	overhead := int64(len(raw)) + m.Config.Size
	if r.Size != overhead+size || r.UncompressedSize != overhead+usize {
		t.Errorf("sizes %d/%d, want %d/%d", r.Size, r.UncompressedSize, overhead+size, overhead+usize)
	}
	if r.Files != 10 || r.Inodes != 23 {
		t.Errorf("files/inodes %d/%d, want 10/23", r.Files, r.Inodes)
	}
	if r.Digest != mustDigest(t, img).String() || r.Platform != "linux/amd64" {
		t.Errorf("digest %s platform %s", r.Digest, r.Platform)
	}

	// Final filesystem: /opt/old hidden by the opaque dir, /etc/b and
	// /var/cache whited out.
	wantFiles := []File{{"/app", 200, 2}, {"/etc/a", 120, 2}, {"/opt/z", 10, 1}}
	if !reflect.DeepEqual(r.LargestFiles, wantFiles) {
		t.Errorf("largest files %+v", r.LargestFiles)
	}

	// Config summary and annotations.
	c := r.Config
	if c.User != "65532:65532" || c.WorkingDir != "/home/nonroot" || c.StopSignal != "SIGTERM" ||
		!reflect.DeepEqual(c.ExposedPorts, []string{"53/udp", "8080/tcp"}) || !reflect.DeepEqual(c.Volumes, []string{"/data"}) ||
		!reflect.DeepEqual(c.Entrypoint, []string{"/app"}) || c.Healthcheck == nil || c.Healthcheck.Interval != "10s" || c.Healthcheck.Retries != 3 {
		t.Errorf("config %+v", c)
	}
	if r.Annotations["org.opencontainers.image.source"] != "https://example.com/app" || len(r.History) != 4 {
		t.Errorf("annotations %v history %d", r.Annotations, len(r.History))
	}
	// Top limits the lists.
	r2, err := InspectWith(img, Options{Top: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(r2.LargestFiles) != 1 || len(r2.Inefficiencies) != 1 {
		t.Errorf("top 1: %d files, %d wastes", len(r2.LargestFiles), len(r2.Inefficiencies))
	}
	// The report is JSON with the documented keys.
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var generic map[string]any
	json.Unmarshal(b, &generic)
	for _, k := range []string{"digest", "efficiency", "wastedBytes", "layers", "largestFiles", "config", "inefficiencies"} {
		if _, ok := generic[k]; !ok {
			t.Errorf("JSON lacks %q", k)
		}
	}
}

func TestInspectEmptyImage(t *testing.T) {
	r, err := Inspect(ociBase(t))
	if err != nil {
		t.Fatal(err)
	}
	if r.Efficiency != 1 || r.WastedBytes != 0 || r.WastedUserPercent != 0 || len(r.Layers) != 0 {
		t.Errorf("%+v", r)
	}
}

// A whiteout of a directory whose metadata a later layer replaced with an
// implied (header-less) parent scores 0, as in dive.
func TestDiveImpliedParentQuirk(t *testing.T) {
	l0 := tarBytes(t, []ent{dir("d/"), sized("d/f", 100)})
	l1 := tarBytes(t, []ent{sized("d/g", 10), sized("x", 50)}) // d/ implied
	l2 := tarBytes(t, []ent{whiteout(".wh.d"), sized("x", 50)})
	img := appendLayers(t, ociBase(t), []v1.Layer{layerOf(t, l0), layerOf(t, l1), layerOf(t, l2)}, []string{"a", "b", "c"})
	r, err := Inspect(img)
	if err != nil {
		t.Fatal(err)
	}
	// Scored: /d/f 100, /d/g 10, /x 50+50, and /d 0: the stacked /d lost its
	// directory flag to layer 1's implied parent (else it would score 110,
	// giving 270/320 instead of 160/210).
	if r.Efficiency != 160.0/210.0 || r.WastedBytes != 100 {
		t.Errorf("efficiency %v wasted %d", r.Efficiency, r.WastedBytes)
	}
	if len(r.LargestFiles) != 1 || r.LargestFiles[0].Path != "/x" {
		t.Errorf("files survived the whiteout: %+v", r.LargestFiles)
	}
}

func TestReferrersOf(t *testing.T) {
	if got := ReferrersOf(nil, nil); got != nil {
		t.Errorf("none: %v", got)
	}
	d := v1.Hash{Algorithm: "sha256", Hex: strings.Repeat("a", 64)}
	got := ReferrersOf([]v1.Descriptor{{ArtifactType: "application/vnd.x", Digest: d, Annotations: map[string]string{"t": "https://spdx.dev/Document"}}},
		func(a map[string]string) string { return a["t"] })
	if len(got) != 1 || got[0] != (Referrer{ArtifactType: "application/vnd.x", Digest: d.String(), PredicateType: "https://spdx.dev/Document"}) {
		t.Errorf("%+v", got)
	}
}
