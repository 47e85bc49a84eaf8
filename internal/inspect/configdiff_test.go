package inspect

import (
	"reflect"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
)

func withConfig(t *testing.T, img v1.Image, edit func(c *v1.Config)) v1.Image {
	t.Helper()
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	edit(&cf.Config)
	out, err := mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// Images with the same files but different configurations differ (diff
// said "no differences" for them).
func TestDiffConfig(t *testing.T) {
	layers := []v1.Layer{layerOf(t, tarBytes(t, []ent{dir("etc/"), file("etc/a", "one")}))}
	a := withConfig(t, appendLayers(t, ociBase(t), layers, []string{"base"}), func(c *v1.Config) {
		c.Entrypoint = []string{"/app"}
		c.Cmd = []string{"serve"}
		c.Env = []string{"PATH=/bin", "MODE=prod", "OLD=1"}
		c.User = "65532"
		c.ExposedPorts = map[string]struct{}{"8080/tcp": {}}
		c.Labels = map[string]string{"version": "1", "team": "a"}
		c.StopSignal = "SIGTERM"
	})
	b := withConfig(t, a, func(c *v1.Config) {
		c.Cmd = []string{"serve", "--debug"}
		c.Env = []string{"PATH=/bin", "MODE=dev", "NEW=2"}
		c.User = ""
		c.WorkingDir = "/srv"
		c.ExposedPorts = map[string]struct{}{"8080/tcp": {}, "9090/tcp": {}}
		c.Labels = map[string]string{"version": "2", "team": "a"}
		c.StopSignal = "SIGQUIT"
		c.Healthcheck = &v1.HealthConfig{Test: []string{"CMD", "/app", "health"}, Interval: 5 * time.Second}
	})
	r, err := Diff(a, b)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Files) != 0 || len(r.Packages) != 0 {
		t.Fatalf("files %+v packages %+v", r.Files, r.Packages)
	}
	want := []ConfigChange{
		{Field: "cmd", Change: "changed", From: `["serve"]`, To: `["serve","--debug"]`},
		{Field: "env MODE", Change: "changed", From: "prod", To: "dev"},
		{Field: "env NEW", Change: "added", To: "2"},
		{Field: "env OLD", Change: "removed", From: "1"},
		{Field: "user", Change: "removed", From: "65532"},
		{Field: "workdir", Change: "added", To: "/srv"},
		{Field: "ports", Change: "changed", From: "8080/tcp", To: "8080/tcp 9090/tcp"},
		{Field: "label version", Change: "changed", From: "1", To: "2"},
		{Field: "stopSignal", Change: "changed", From: "SIGTERM", To: "SIGQUIT"},
		{Field: "healthcheck", Change: "added", To: `["CMD","/app","health"] --interval=5s`},
	}
	if !reflect.DeepEqual(r.Config, want) {
		t.Errorf("config:\n got %+v\nwant %+v", r.Config, want)
	}
	if r.Empty() {
		t.Error("Empty() with config changes")
	}
	if same, _ := Diff(b, b); !same.Empty() {
		t.Errorf("self diff: %+v", same)
	}
}
