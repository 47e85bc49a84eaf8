package imageref

import (
	"context"
	"strings"
	"testing"
)

func TestRemote(t *testing.T) {
	r, opts, err := Remote(context.Background(), "127.0.0.1:5000/app:1", Options{})
	if err != nil || len(opts) == 0 {
		t.Fatal(err)
	}
	if r.Context().Registry.Scheme() != "http" || r.Identifier() != "1" {
		t.Fatalf("%v scheme %s", r, r.Context().Registry.Scheme())
	}
	if _, _, err := Remote(context.Background(), "oci-layout:"+t.TempDir(), Options{}); err == nil || !strings.Contains(err.Error(), "not a registry reference") {
		t.Fatalf("layout: %v", err)
	}
}
