package deb

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// aptRepoDir is where scripts/aptrepo.sh keeps the test repository between
// runs (it is idempotent, so a warm cache costs a second): BERTH_TEST_APTREPO,
// else <user cache dir>/berth-test/aptrepo.
func aptRepoDir(t *testing.T) string {
	if d := os.Getenv("BERTH_TEST_APTREPO"); d != "" {
		return d
	}
	base, err := os.UserCacheDir()
	if err != nil {
		base = os.TempDir()
	}
	return filepath.Join(base, "berth-test", "aptrepo")
}

// buildAptRepo runs the script; skipped where apt/gpg are unavailable unless
// CI is set.
func buildAptRepo(t *testing.T) string {
	t.Helper()
	fail := t.Skipf
	if os.Getenv("CI") != "" {
		fail = t.Fatalf
	}
	for _, tool := range []string{"bash", "apt-get", "apt-cache"} {
		if _, err := exec.LookPath(tool); err != nil {
			fail("%s not installed: cannot build the test apt repository", tool)
		}
	}
	dir := aptRepoDir(t)
	script, err := filepath.Abs(filepath.Join("..", "..", "scripts", "aptrepo.sh"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", script, dir)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	if err := cmd.Run(); err != nil {
		fail("scripts/aptrepo.sh %s: %v\n%s", dir, err, out.String())
	}
	t.Logf("aptrepo.sh (%s):\n%s", time.Since(start).Round(time.Millisecond), out.String())
	return dir
}

func TestAptRepoIntegration(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: skipping the real apt repository")
	}
	dir := buildAptRepo(t)
	srv := httptest.NewServer(http.FileServer(http.Dir(dir)))
	defer srv.Close()
	keyring := filepath.Join(dir, "keys", "repo.gpg")
	bookworm := Repository{Name: "bookworm", URL: srv.URL, Suite: "bookworm", Components: []string{"main"}, Keyring: keyring, Arch: "amd64"}
	updates := Repository{Name: "bookworm-updates", URL: srv.URL, Suite: "bookworm-updates", Components: []string{"main"}, Keyring: keyring, Arch: "amd64"}
	ctx := context.Background()
	indexCache := t.TempDir()

	ix, err := Fetch(ctx, nil, []Repository{bookworm}, indexCache)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("index: %d packages", ix.Len())

	nginx, err := ix.Resolve([]string{"nginx-light"}, "amd64")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("nginx-light closure (%d): %s", len(nginx), names(nginx))
	for _, must := range []string{"nginx-light", "nginx", "nginx-common", "libc6", "libssl3", "libpcre2-8-0", "zlib1g"} {
		if !hasPackage(nginx, must) {
			t.Errorf("nginx-light closure lacks %s", must)
		}
	}

	distroless := []string{"base-files", "netbase", "tzdata", "ca-certificates", "libc6"}
	base, err := ix.Resolve(distroless, "amd64")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("distroless closure (%d): %s", len(base), names(base))
	if !hasPackage(base, "libgcc-s1") || hasPackage(base, "nginx") {
		t.Errorf("unexpected distroless closure: %s", names(base))
	}

	// the same inputs give the same answer
	again, _ := ix.Resolve(distroless, "amd64")
	if names(again) != names(base) {
		t.Errorf("Resolve is not deterministic")
	}

	// adding bookworm-updates upgrades exactly the two-version package
	ix2, err := Fetch(ctx, nil, []Repository{bookworm, updates}, indexCache)
	if err != nil {
		t.Fatal(err)
	}
	base2, err := ix2.Resolve(distroless, "amd64")
	if err != nil {
		t.Fatal(err)
	}
	var changed []string
	for i := range base {
		if base[i].Name != base2[i].Name {
			t.Fatalf("closures differ in names: %s vs %s", names(base), names(base2))
		}
		if base[i].Version != base2[i].Version {
			changed = append(changed, base[i].Name+" "+base[i].Version+" → "+base2[i].Version+" ("+base2[i].Repo+")")
		}
	}
	if len(changed) != 1 || !strings.HasPrefix(changed[0], "tzdata ") {
		t.Errorf("with bookworm-updates, changed: %v (want only tzdata)", changed)
	}
	t.Logf("bookworm-updates: %v", changed)

	all, err := ix.Resolve(append(distroless, "nginx-light", "busybox"), "amd64")
	if err != nil {
		t.Fatal(err)
	}
	debCache := t.TempDir()
	start := time.Now()
	paths, err := DownloadAll(ctx, nil, []Repository{bookworm}, all, debCache, 4)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("downloaded %d debs in %s", len(paths), time.Since(start).Round(time.Millisecond))

	dpkgDeb, _ := exec.LookPath("dpkg-deb")
	var files int
	for i, p := range all {
		var entries []string
		ctl, md5, err := ReadDeb(paths[i], func(hdr *tar.Header, r io.Reader) error {
			entries = append(entries, hdr.Name)
			if hdr.Typeflag == tar.TypeReg {
				files++
			}
			return nil
		})
		if err != nil {
			t.Errorf("%s: %v", p, err)
			continue
		}
		if ctl.Get("Package") != p.Name || ctl.Get("Version") != p.Version {
			t.Errorf("%s: control says %s %s", p, ctl.Get("Package"), ctl.Get("Version"))
		}
		if len(md5) == 0 && len(entries) > 5 {
			t.Logf("%s: no md5sums", p)
		}
		status := StatusParagraph(p.Control)
		if !bytes.Contains(status, []byte("\nStatus: install ok installed\n")) || bytes.Contains(status, []byte("\nFilename:")) {
			t.Errorf("%s: status record:\n%s", p, status)
		}
		if dpkgDeb != "" {
			want := dpkgDebEntries(t, dpkgDeb, paths[i])
			if strings.Join(entries, "\n") != strings.Join(want, "\n") {
				t.Errorf("%s: %d entries, dpkg-deb lists %d", p, len(entries), len(want))
			}
		}
	}
	t.Logf("read %d debs, %d regular files", len(all), files)

	// a second download of everything is served from the cache: no server
	srv.Close()
	if _, err := DownloadAll(ctx, nil, []Repository{bookworm}, all, debCache, 4); err != nil {
		t.Errorf("cached downloads needed the network: %v", err)
	}
}

func dpkgDebEntries(t *testing.T, dpkgDeb, deb string) []string {
	out, err := exec.Command(dpkgDeb, "--fsys-tarfile", deb).Output()
	if err != nil {
		t.Fatalf("dpkg-deb --fsys-tarfile %s: %v", deb, err)
	}
	var names []string
	tr := tar.NewReader(bytes.NewReader(out))
	for {
		hdr, err := tr.Next()
		if err != nil {
			break
		}
		if c, _ := cleanEntryPath(hdr.Name); c != "" {
			names = append(names, c)
		}
	}
	return names
}

func hasPackage(pkgs []*Package, name string) bool {
	for _, p := range pkgs {
		if p.Name == name {
			return true
		}
	}
	return false
}
