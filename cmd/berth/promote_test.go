package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/berth-dev/berth/internal/promote"
	"github.com/berth-dev/berth/internal/registry"
)

// promoteRegistry serves a real berth registry over HTTP on loopback and
// returns its host:port.
func promoteRegistry(t *testing.T) string {
	t.Helper()
	cfg := registry.DefaultConfig()
	cfg.Root = t.TempDir()
	cfg.Log.Access = false
	cfg.GC.Interval = 0
	reg, err := registry.Open(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(reg.Handler())
	t.Cleanup(func() { srv.Close(); reg.Close() })
	return strings.TrimPrefix(srv.URL, "http://")
}

func TestPromoteCommand(t *testing.T) {
	staging, prod := promoteRegistry(t), promoteRegistry(t)
	dir := t.TempDir()
	berthYAML := `images:
  app:
    layers:
      - name: etc
        paths: [{path: /etc/app, type: directory}]
environments:
  ci: {}
  staging:
    registry: ` + staging + `
    repository: example
  prod:
    registry: ${PROD}
    repository: example
`
	file := filepath.Join(dir, "berth.yaml")
	if err := os.WriteFile(file, []byte(berthYAML), 0o644); err != nil {
		t.Fatal(err)
	}
	img, err := random.Image(4096, 3)
	if err != nil {
		t.Fatal(err)
	}
	src, _ := name.ParseReference(staging+"/example/app:1.2.0", name.Insecure)
	if err := remote.Write(src, img); err != nil {
		t.Fatal(err)
	}
	want, _ := img.Digest()

	out, err := runImageCmd(t, newPromoteCommand(), "app:1.2.0", "--from", "staging", "--to", "prod", "-f", file, "--set", "PROD="+prod)
	if err != nil {
		t.Fatal(err)
	}
	wantOut := "promoted " + staging + "/example/app:1.2.0 → " + prod + "/example/app:1.2.0 (" + want.String() + "): 4 blobs copied ("
	if !strings.HasPrefix(out, wantOut) || !strings.Contains(out, "0 already there; provenance recorded as sha256:") {
		t.Errorf("output %q\nwant prefix %q", out, wantOut)
	}
	recs, err := promote.Records(context.Background(), prod+"/example/app:1.2.0", promote.Options{})
	if err != nil || len(recs) != 1 || recs[0].From.Env != "staging" || recs[0].To.Env != "prod" || recs[0].Digest != want.String() {
		t.Errorf("records %+v %v", recs, err)
	}

	// --tag, --json, and a second run that copies nothing.
	out, err = runImageCmd(t, newPromoteCommand(), "app", "--tag", "1.2.0", "--from", "staging", "--to", "prod", "-f", file, "--set", "PROD="+prod, "--json")
	if err != nil {
		t.Fatal(err)
	}
	var got promote.Output
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if got.Digest != want.String() || got.BlobsCopied != 0 || got.BlobsSkipped != 4 || got.From != "staging" || got.To != "prod" {
		t.Errorf("json %+v", got)
	}
	// One casing: lower-camel keys, as berth's other JSON.
	for _, k := range []string{`"digest":`, `"blobsCopied":`, `"blobsSkipped":`, `"bytesCopied":`, `"provenance":`, `"from":`} {
		if !strings.Contains(out, k) {
			t.Errorf("promote --json lacks %s: %s", k, out)
		}
	}

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"app:1.2.0", "--from", "qa", "--to", "prod"}, `--from qa: unknown environment "qa" (known: ci, prod, staging)`},
		{[]string{"app:1.2.0", "--from", "staging", "--to", "ci"}, `--to ci: environment "ci" has no registry (set environments.ci.registry`},
		{[]string{"web:1.2.0", "--from", "staging", "--to", "prod"}, `no image "web"`},
		{[]string{"app:9.9", "--from", "staging", "--to", "prod"}, staging + "/example/app:9.9: no such image"},
		{[]string{"app", "--from", "staging", "--to", "prod"}, staging + "/example/app:latest: no such image"},
		{[]string{"app:1.2.0", "--from", "staging", "--to", "staging"}, "both"},
		{[]string{"app:1.2.0", "--from", "staging"}, "--to ENV are required"},
		{[]string{"app@sha256:xyz", "--from", "staging", "--to", "prod"}, "is not a digest"},
		{[]string{"app", "--tag", "-bad", "--from", "staging", "--to", "prod"}, "--tag: tag"},
	} {
		_, err := runImageCmd(t, newPromoteCommand(), append(tc.args, "-f", file, "--set", "PROD="+prod)...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: error %v, want %q", tc.args, err, tc.want)
		}
	}
}
