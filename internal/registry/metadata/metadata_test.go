package metadata

import (
	"errors"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
)

func open(t *testing.T) *DB {
	t.Helper()
	db, err := Open(filepath.Join(t.TempDir(), "meta.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestManifestsTagsAndReferrers(t *testing.T) {
	db := open(t)
	layer := digest.FromString("layer")
	if err := db.LinkBlob("team/app", layer, 5); err != nil {
		t.Fatal(err)
	}
	if size, ok := db.Blob("team/app", layer); !ok || size != 5 {
		t.Fatalf("Blob = %d, %v", size, ok)
	}
	if _, ok := db.Blob("other", layer); ok {
		t.Fatal("blob visible in a repository that never linked it")
	}
	body := []byte(`{"schemaVersion":2}`)
	m := Manifest{Digest: digest.FromBytes(body), MediaType: "application/vnd.oci.image.manifest.v1+json", Size: int64(len(body)), Blobs: []digest.Digest{layer}, Pushed: time.Now()}
	if err := db.PutManifest("team/app", m, body, []string{"v1", "latest", "B", "a"}); err != nil {
		t.Fatal(err)
	}
	got, content, err := db.ResolveContent("team/app", "latest")
	if err != nil || got.Digest != m.Digest || string(content) != string(body) {
		t.Fatalf("ResolveContent = %+v %q %v", got, content, err)
	}
	tags, more, _ := db.Tags("team/app", "", 0)
	if !reflect.DeepEqual(tags, []string{"B", "a", "latest", "v1"}) || more {
		t.Fatalf("tags = %v more=%v, want ASCII order", tags, more)
	}
	tags, more, _ = db.Tags("team/app", "a", 1)
	if !reflect.DeepEqual(tags, []string{"latest"}) || !more {
		t.Fatalf("page after a = %v more=%v", tags, more)
	}

	sig := Manifest{Digest: digest.FromString("sig"), MediaType: "application/vnd.oci.image.manifest.v1+json", ArtifactType: "application/vnd.dev.cosign", Subject: m.Digest, Pushed: time.Now()}
	if err := db.PutManifest("team/app", sig, []byte("sig"), nil); err != nil {
		t.Fatal(err)
	}
	refs, _ := db.Referrers("team/app", m.Digest)
	if len(refs) != 1 || refs[0].Digest != sig.Digest {
		t.Fatalf("referrers = %+v", refs)
	}

	if err := db.DeleteTag("team/app", "B"); err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteTag("team/app", "B"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second tag delete: %v", err)
	}
	if err := db.DeleteManifest("team/app", m.Digest); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Resolve("team/app", "latest"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("tag survived its manifest: %v", err)
	}
	if tags, _, _ := db.Tags("team/app", "", 0); len(tags) != 0 {
		t.Fatalf("tags after manifest delete = %v", tags)
	}
	repos, _, _ := db.Repositories("", 0)
	if !reflect.DeepEqual(repos, []string{"team/app"}) {
		t.Fatalf("repositories = %v", repos)
	}
}

func TestUnreachableKeepsTaggedIndexChildrenAndReferrers(t *testing.T) {
	db := open(t)
	old := time.Now().Add(-time.Hour)
	put := func(name string, m Manifest, tags ...string) Manifest {
		m.Digest = digest.FromString(name)
		m.Pushed = old
		if err := db.PutManifest("r", m, []byte(name), tags); err != nil {
			t.Fatal(err)
		}
		return m
	}
	child := put("child", Manifest{})
	index := put("index", Manifest{Children: []digest.Digest{child.Digest}}, "v1")
	sig := put("sig", Manifest{Subject: index.Digest})
	orphan := put("orphan", Manifest{})
	orphanSig := put("orphan-sig", Manifest{Subject: orphan.Digest})
	recent := Manifest{Digest: digest.FromString("recent"), Pushed: time.Now()}
	db.PutManifest("r", recent, []byte("recent"), nil)

	gone, err := db.Unreachable(time.Now().Add(-time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	got := map[digest.Digest]bool{}
	for _, g := range gone {
		got[g.Digest] = true
	}
	want := map[digest.Digest]bool{orphan.Digest: true, orphanSig.Digest: true}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("unreachable = %v, want orphan and its referrer only (child %s, sig %s kept)", got, child.Digest, sig.Digest)
	}
}
