package store

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"golang.org/x/sys/unix"

	"github.com/berth-dev/berth/internal/imageref"
)

func mustDigest(t *testing.T, img v1.Image) string {
	t.Helper()
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d.String()
}

func TestChainIDs(t *testing.T) {
	a := "sha256:" + strings.Repeat("a", 64)
	b := "sha256:" + strings.Repeat("b", 64)
	got := ChainIDs([]string{a, b})
	// OCI image spec: ChainID(L1) = SHA256(ChainID(L0) + " " + DiffID(L1)).
	want := "sha256:" + sha256Hex(a+" "+b)
	if got[0] != a || got[1] != want {
		t.Fatalf("ChainIDs = %v, want [%s %s]", got, a, want)
	}
}

func TestPullFromOCILayoutAndArchive(t *testing.T) {
	needRoot(t)
	ctx := context.Background()
	s := openStore(t)
	img := baseAndTop(t)
	want := mustDigest(t, img)

	dir := filepath.Join(t.TempDir(), "layout")
	if err := imageref.Write(ctx, img, imageref.LayoutPrefix+dir+":v1", imageref.Options{}); err != nil {
		t.Fatal(err)
	}
	got, err := s.Pull(ctx, imageref.LayoutPrefix+dir+":v1", imageref.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got.Digest != want || len(got.Layers) != 2 || got.Config.Config.Cmd[0] != "/bin/sh" {
		t.Fatalf("pulled %+v, want digest %s with 2 layers", got, want)
	}
	if !got.Created.Equal(testTime) {
		t.Errorf("Created = %v, want %v", got.Created, testTime)
	}

	// The same reference, written relative to another directory, finds it.
	if g, err := s.Get(imageref.LayoutPrefix + dir + ":v1"); err != nil || g.Digest != want {
		t.Fatalf("Get by layout name: %v, %v", g.Digest, err)
	}
	for _, q := range []string{want, strings.TrimPrefix(want, "sha256:")[:12], got.ConfigDigest[:19], "x.example/app@" + want} {
		if g, err := s.Get(q); err != nil || g.Digest != want {
			t.Errorf("Get(%q) = %v, %v", q, g.Digest, err)
		}
	}
	if _, err := s.Get("nosuch:latest"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get(nosuch) error = %v, want ErrNotFound", err)
	}

	// docker-archive: same layers (ggcr recompresses, so compare diff IDs).
	archive := filepath.Join(t.TempDir(), "img.tar")
	if err := imageref.Write(ctx, img, imageref.ArchivePrefix+archive+":example.com/app:v2", imageref.Options{}); err != nil {
		t.Fatal(err)
	}
	fromArchive, err := s.Pull(ctx, imageref.ArchivePrefix+archive, imageref.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range got.Layers {
		if fromArchive.Layers[i].DiffID != got.Layers[i].DiffID {
			t.Errorf("layer %d diff ID %s, want %s", i, fromArchive.Layers[i].DiffID, got.Layers[i].DiffID)
		}
	}
	if _, err := s.Prepare(ctx, fromArchive); err != nil {
		t.Fatal(err)
	}

	// Tag + List.
	if err := s.Tag(want, "example.com/app:v1"); err != nil {
		t.Fatal(err)
	}
	// The archive held the very same manifest, so the image has three names.
	if g, err := s.Get("example.com/app:v1"); err != nil || g.Digest != want || len(g.Names) != 3 || g.Name != "example.com/app:v1" {
		t.Fatalf("Get after Tag: %+v, %v", g.Names, err)
	}
	list, err := s.List()
	if err != nil || len(list) < 1 {
		t.Fatalf("List = %d images, %v", len(list), err)
	}
}

func TestImportRandomImageAndReimportCopiesNothing(t *testing.T) {
	needRoot(t)
	ctx := context.Background()
	s := openStore(t)
	img, err := random.Image(4096, 3)
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.Import(ctx, "example.com/random:1", img)
	if err != nil {
		t.Fatal(err)
	}
	lowers, err := s.Prepare(ctx, got)
	if err != nil {
		t.Fatal(err)
	}
	if len(lowers) != 3 {
		t.Fatalf("Prepare returned %d dirs, want 3", len(lowers))
	}
	// Top-most first: the last chain ID is the first dir.
	chains := got.ChainIDs()
	if want := filepath.Join(s.snapshots, strings.TrimPrefix(chains[2], "sha256:"), "fs"); lowers[0] != want {
		t.Errorf("lowers[0] = %s, want %s", lowers[0], want)
	}
	before := countBlobs(t, s)
	if _, err := s.Import(ctx, "example.com/random:2", img); err != nil {
		t.Fatal(err)
	}
	if after := countBlobs(t, s); after != before {
		t.Errorf("re-import changed the blob count %d → %d", before, after)
	}
}

func countBlobs(t *testing.T, s *Store) int {
	t.Helper()
	n := 0
	filepath.WalkDir(s.blobs.Root(), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			n++
		}
		return nil
	})
	return n
}

func TestPrepareMountMergedView(t *testing.T) {
	needRoot(t)
	ctx := context.Background()
	s := openStore(t)
	img, err := s.Import(ctx, "example.com/app:v1", baseAndTop(t))
	if err != nil {
		t.Fatal(err)
	}
	lowers, err := s.Prepare(ctx, img)
	if err != nil {
		t.Fatal(err)
	}
	if n := s.unpacks.Load(); n != 2 {
		t.Fatalf("unpacked %d layers, want 2", n)
	}
	// Second Prepare: nothing unpacked again.
	if _, err := s.Prepare(ctx, img); err != nil {
		t.Fatal(err)
	}
	if n := s.unpacks.Load(); n != 2 {
		t.Fatalf("second Prepare unpacked again: %d", n)
	}

	// Overlay forms in the snapshots themselves.
	top, base := lowers[0], lowers[1]
	var st unix.Stat_t
	if err := unix.Lstat(filepath.Join(top, "etc/gone"), &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFCHR || st.Rdev != 0 {
		t.Errorf("whiteout etc/gone: mode %o rdev %d err %v, want a 0/0 char device", st.Mode, st.Rdev, err)
	}
	buf := make([]byte, 8)
	if n, err := unix.Lgetxattr(filepath.Join(top, "opq"), "trusted.overlay.opaque", buf); err != nil || string(buf[:n]) != "y" {
		t.Errorf("opaque xattr on opq: %q, %v", buf[:n], err)
	}
	if !sameFile(t, filepath.Join(base, "hard"), filepath.Join(base, "etc/passwd")) {
		t.Error("hard is not a hardlink of etc/passwd")
	}

	dir := filepath.Join(t.TempDir(), "c1")
	rootfs, err := s.Mount(ctx, "c1", img, dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Unmount(dir) })

	if _, err := os.Lstat(filepath.Join(rootfs, "etc/gone")); !os.IsNotExist(err) {
		t.Errorf("etc/gone visible in merged view (err %v)", err)
	}
	if b, err := os.ReadFile(filepath.Join(rootfs, "etc/passwd")); err != nil || !strings.HasPrefix(string(b), "root:") {
		t.Errorf("etc/passwd: %q, %v", b, err)
	}
	if names := readNames(t, filepath.Join(rootfs, "opq")); strings.Join(names, ",") != "c" {
		t.Errorf("opaque dir shows %v, want [c]", names)
	}
	checkStat(t, rootfs, "bin/tool", 0o4755|unix.S_IFREG, 0, 0)
	checkStat(t, rootfs, "data", 0o750|unix.S_IFDIR, 1000, 1000)
	checkStat(t, rootfs, "data/file", 0o640|unix.S_IFREG, 1000, 1001)
	checkStat(t, rootfs, "fifo", 0o600|unix.S_IFIFO, 0, 0)
	checkStat(t, rootfs, ".", 0o755|unix.S_IFDIR, 0, 0)
	if l, err := os.Readlink(filepath.Join(rootfs, "link")); err != nil || l != "etc/passwd" {
		t.Errorf("link → %q, %v", l, err)
	}
	if l, err := os.Readlink(filepath.Join(rootfs, "abslink")); err != nil || l != "/etc/passwd" {
		t.Errorf("abslink → %q, %v", l, err)
	}
	if n, err := unix.Lgetxattr(filepath.Join(rootfs, "withxattr"), "user.berth", buf); err != nil || string(buf[:n]) != "hello" {
		t.Errorf("xattr user.berth: %q, %v", buf[:n], err)
	}
	if b, err := os.ReadFile(filepath.Join(rootfs, "implicit/parent/file")); err != nil || string(b) != "no dir entries" {
		t.Errorf("implicit/parent/file: %q, %v", b, err)
	}
	var fi unix.Stat_t
	if err := unix.Stat(filepath.Join(rootfs, "etc/passwd"), &fi); err != nil || fi.Mtim.Sec != testTime.Unix() {
		t.Errorf("etc/passwd mtime %d, want %d (%v)", fi.Mtim.Sec, testTime.Unix(), err)
	}
	if err := unix.Stat(filepath.Join(base, "etc"), &fi); err != nil || fi.Mtim.Sec != testTime.Unix() {
		t.Errorf("etc dir mtime %d, want %d (%v)", fi.Mtim.Sec, testTime.Unix(), err)
	}

	// Writes land in upper, never in a snapshot.
	if err := os.WriteFile(filepath.Join(rootfs, "etc/passwd"), []byte("changed"), 0o644); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "upper/etc/passwd")); string(b) != "changed" {
		t.Errorf("upper/etc/passwd = %q", b)
	}
	if b, _ := os.ReadFile(filepath.Join(base, "etc/passwd")); !strings.HasPrefix(string(b), "root:") {
		t.Errorf("snapshot modified: %q", b)
	}

	// Mount again: no-op, still one mount.
	if _, err := s.Mount(ctx, "c1", img, dir); err != nil {
		t.Fatal(err)
	}
	if n := countMounts(t, rootfs); n != 1 {
		t.Errorf("%d mounts at %s after a second Mount, want 1", n, rootfs)
	}

	// In use: Remove refuses; after Unmount it works and collects blobs.
	if err := s.Remove("example.com/app:v1", false); !errors.Is(err, ErrInUse) || !strings.Contains(err.Error(), "c1") {
		t.Fatalf("Remove of mounted image: %v, want ErrInUse naming c1", err)
	}
	if n, err := s.PruneSnapshots(nil); err != nil || n != 0 {
		t.Fatalf("PruneSnapshots with image present removed %d, %v", n, err)
	}
	if err := s.Unmount(dir); err != nil {
		t.Fatal(err)
	}
	if err := s.Unmount(dir); err != nil {
		t.Fatalf("second Unmount: %v", err)
	}
	if n := countMounts(t, dir); n != 0 {
		t.Fatalf("%d mounts left under %s", n, dir)
	}
	if err := s.Remove("example.com/app:v1", false); err != nil {
		t.Fatal(err)
	}
	if n := countBlobs(t, s); n != 0 {
		t.Errorf("%d blobs left after removing the only image", n)
	}
	if n, err := s.PruneSnapshots(func(string) bool { return false }); err != nil || n != 2 {
		t.Errorf("PruneSnapshots removed %d, %v; want 2", n, err)
	}
	if ents, _ := os.ReadDir(s.snapshots); len(ents) != 0 {
		t.Errorf("snapshots left: %v", ents)
	}
}

func sameFile(t *testing.T, a, b string) bool {
	fa, err1 := os.Lstat(a)
	fb, err2 := os.Lstat(b)
	return err1 == nil && err2 == nil && os.SameFile(fa, fb)
}

func readNames(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	sort.Strings(out)
	return out
}

func checkStat(t *testing.T, root, rel string, mode uint32, uid, gid uint32) {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Lstat(filepath.Join(root, rel), &st); err != nil {
		t.Errorf("%s: %v", rel, err)
		return
	}
	if st.Mode != mode || st.Uid != uid || st.Gid != gid {
		t.Errorf("%s: mode %o uid %d gid %d, want mode %o uid %d gid %d", rel, st.Mode, st.Uid, st.Gid, mode, uid, gid)
	}
}

// countMounts counts mountinfo entries at or below p.
func countMounts(t *testing.T, p string) int {
	t.Helper()
	points, err := mountPoints()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for m := range points {
		if m == p || strings.HasPrefix(m, p+"/") {
			n++
		}
	}
	return n
}

func TestConcurrentPrepareUnpacksOnce(t *testing.T) {
	needRoot(t)
	ctx := context.Background()
	s := openStore(t)
	img, err := s.Import(ctx, "example.com/app:v1", baseAndTop(t))
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make([]error, 8)
	results := make([][]string, 8)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = s.Prepare(ctx, img)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("Prepare %d: %v", i, err)
		}
		if strings.Join(results[i], ":") != strings.Join(results[0], ":") {
			t.Fatalf("Prepare %d returned %v, Prepare 0 %v", i, results[i], results[0])
		}
	}
	if n := s.unpacks.Load(); n != 2 {
		t.Fatalf("8 concurrent Prepares unpacked %d layers, want 2", n)
	}
	ents, _ := os.ReadDir(s.snapshots)
	for _, e := range ents {
		if strings.Contains(e.Name(), tmpMarker) {
			t.Errorf("temporary snapshot left: %s", e.Name())
		}
	}
}

func TestMaliciousLayersRefused(t *testing.T) {
	needRoot(t)
	ctx := context.Background()
	outside := t.TempDir()
	cases := map[string][]ent{
		"dotdot": {{name: "../../../../../../" + outside + "/dotdot", body: "x"}},
		"dotdot-middle": {
			{name: "a/", typ: tar.TypeDir},
			{name: "a/../../../../../../../../" + strings.TrimPrefix(outside, "/") + "/mid", body: "x"},
		},
		"absolute": {{name: outside + "/abs", body: "x"}},
		"symlink-then-file": {
			{name: "evil", typ: tar.TypeSymlink, link: outside},
			{name: "evil/pwned", body: "x"},
		},
		"relative-symlink-then-dir": {
			{name: "up", typ: tar.TypeSymlink, link: "../../../../../../../../../.."},
			{name: "up" + outside + "/pwned2/", typ: tar.TypeDir},
		},
		"symlink-then-whiteout": {
			{name: "w", typ: tar.TypeSymlink, link: outside},
			{name: "w/.wh.victim", body: ""},
		},
		"hardlink-escape": {{name: "h", typ: tar.TypeLink, link: "../../../../../../../etc/passwd"}},
		"hardlink-through-symlink": {
			{name: "s", typ: tar.TypeSymlink, link: "/etc"},
			{name: "h", typ: tar.TypeLink, link: "s/passwd"},
		},
	}
	if err := os.WriteFile(filepath.Join(outside, "victim"), []byte("keep"), 0o644); err != nil {
		t.Fatal(err)
	}
	for name, ents := range cases {
		t.Run(name, func(t *testing.T) {
			s := openStore(t)
			img, err := s.Import(ctx, "example.com/evil:"+name, imageOf(t, tarLayer(t, ents...)))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.Prepare(ctx, img); err == nil {
				t.Fatal("Prepare accepted a malicious layer")
			} else {
				t.Logf("refused: %v", err)
			}
			if ents, _ := os.ReadDir(s.snapshots); len(ents) != 0 {
				t.Errorf("snapshots dir not empty after refusal: %v", ents)
			}
			if got := readNames(t, outside); strings.Join(got, ",") != "victim" {
				t.Errorf("outside dir now holds %v", got)
			}
			if b, _ := os.ReadFile(filepath.Join(outside, "victim")); string(b) != "keep" {
				t.Errorf("victim changed: %q", b)
			}
		})
	}
}

func TestCorruptLayerRefused(t *testing.T) {
	needRoot(t)
	ctx := context.Background()
	s := openStore(t)
	img, err := s.Import(ctx, "example.com/app:v1", baseAndTop(t))
	if err != nil {
		t.Fatal(err)
	}
	// A config whose diff ID does not match the layer content.
	img.Layers[0].DiffID = "sha256:" + strings.Repeat("0", 64)
	if _, err := s.Prepare(ctx, img); err == nil || !strings.Contains(err.Error(), "hashes to") {
		t.Fatalf("Prepare with wrong diff ID: %v", err)
	}
	if ents, _ := os.ReadDir(s.snapshots); len(ents) != 0 {
		t.Errorf("snapshots left: %v", ents)
	}
}

func TestManyLayersMountThroughShortLinks(t *testing.T) {
	needRoot(t)
	ctx := context.Background()
	s := openStore(t)
	const n = 90
	var layers []v1.Layer
	for i := 0; i < n; i++ {
		layers = append(layers, tarLayer(t, ent{name: fmt.Sprintf("f%03d", i), body: fmt.Sprint(i)}))
	}
	img, err := s.Import(ctx, "example.com/tall:v1", imageOf(t, layers...))
	if err != nil {
		t.Fatal(err)
	}
	lowers, err := s.Prepare(ctx, img)
	if err != nil {
		t.Fatal(err)
	}
	if l := len(strings.Join(lowers, ":")); l <= mountDataMax {
		t.Fatalf("lowerdir is only %d bytes; the test must exceed one page", l)
	}
	wd, _ := os.Getwd()
	dir := filepath.Join(t.TempDir(), "tall")
	rootfs, err := s.Mount(ctx, "tall", img, dir)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := os.Getwd(); got != wd {
		t.Errorf("Mount changed the process working directory to %s", got)
	}
	if names := readNames(t, rootfs); len(names) != n {
		t.Errorf("merged view has %d entries, want %d", len(names), n)
	}
	if err := s.Unmount(dir); err != nil {
		t.Fatal(err)
	}
	if c := countMounts(t, dir); c != 0 {
		t.Errorf("%d mounts left", c)
	}
}

func TestOpenRemovesLeftoversAndIsExclusive(t *testing.T) {
	needRoot(t)
	root := t.TempDir()
	s, err := Open(root)
	if err != nil {
		t.Fatal(err)
	}
	// A second opener fails with a clear message instead of hanging.
	if _, err := Open(root); err == nil || !strings.Contains(err.Error(), "locked") {
		t.Fatalf("second Open: %v", err)
	}
	s.Close()

	// What a kill -9 mid-unpack and mid-download leaves behind.
	stale := filepath.Join(root, "snapshots", strings.Repeat("a", 64)+tmpMarker+"123")
	if err := os.MkdirAll(filepath.Join(stale, "fs/etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	tmpBlob := filepath.Join(root, "images/blobs", "layer-1.tmp")
	if err := os.WriteFile(tmpBlob, []byte("partial"), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err = Open(root)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, p := range []string{stale, tmpBlob} {
		if _, err := os.Lstat(p); !os.IsNotExist(err) {
			t.Errorf("%s survived Open (%v)", p, err)
		}
	}
}

func TestMountValidation(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	for _, tc := range []struct{ id, dir, want string }{
		{"", "/x", "container ID"},
		{"a/b", "/x", "container ID"},
		{"ok", "relative", "absolute"},
		{"ok", "/a,b", "','"},
	} {
		if _, err := s.Mount(ctx, tc.id, Image{}, tc.dir); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Mount(%q, %q): %v, want error mentioning %q", tc.id, tc.dir, err, tc.want)
		}
	}
}

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

func TestRemoveUntagsBeforeDeleting(t *testing.T) {
	needRoot(t)
	ctx := context.Background()
	s := openStore(t)
	img, err := s.Import(ctx, "example.com/a:1", baseAndTop(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Tag("example.com/a:1", "example.com/b:1"); err != nil {
		t.Fatal(err)
	}
	if err := s.Remove("example.com/a:1", false); err != nil {
		t.Fatal(err)
	}
	if g, err := s.Get(img.Digest); err != nil || strings.Join(g.Names, ",") != "example.com/b:1" {
		t.Fatalf("after untag: names %v, %v", g.Names, err)
	}
	if countBlobs(t, s) != 4 {
		t.Errorf("untag removed blobs: %d left, want 4", countBlobs(t, s))
	}
	if err := s.Remove(img.Digest[:20], false); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get("example.com/b:1"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get after Remove: %v", err)
	}
	if n := countBlobs(t, s); n != 0 {
		t.Errorf("%d blobs left", n)
	}
}
