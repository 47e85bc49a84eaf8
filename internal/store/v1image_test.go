package store

import (
	"context"
	"io"
	"testing"
)

// A stored image read back as a v1.Image has the pulled image's digest,
// config and layers, and its layers read as the same tars.
func TestV1ImageRoundTrip(t *testing.T) {
	s := openStore(t)
	src := baseAndTop(t)
	stored, err := s.Import(context.Background(), "example.com/app:v1", src)
	if err != nil {
		t.Fatal(err)
	}
	img, err := s.V1Image("example.com/app:v1")
	if err != nil {
		t.Fatal(err)
	}
	d, err := img.Digest()
	if err != nil || d.String() != stored.Digest {
		t.Fatalf("digest %v (%v), want %s", d, err, stored.Digest)
	}
	cn, err := img.ConfigName()
	if err != nil || cn.String() != stored.ConfigDigest {
		t.Errorf("config %v (%v), want %s", cn, err, stored.ConfigDigest)
	}
	want, _ := src.Layers()
	got, err := img.Layers()
	if err != nil || len(got) != len(want) {
		t.Fatalf("layers: %d (%v), want %d", len(got), err, len(want))
	}
	for i := range got {
		gd, _ := got[i].DiffID()
		wd, _ := want[i].DiffID()
		if gd != wd {
			t.Errorf("layer %d diff ID %s, want %s", i, gd, wd)
		}
		rc, err := got[i].Uncompressed()
		if err != nil {
			t.Fatal(err)
		}
		n, err := io.Copy(io.Discard, rc)
		rc.Close()
		if err != nil || n == 0 {
			t.Errorf("layer %d: read %d bytes: %v", i, n, err)
		}
	}
	if _, err := s.V1Image("example.com/none:v1"); err == nil {
		t.Error("an image not in the store: no error")
	}
}
