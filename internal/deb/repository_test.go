package deb

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// countingServer serves dir and counts requests per path.
type countingServer struct {
	*httptest.Server
	mu   sync.Mutex
	hits map[string]int
}

func serve(t *testing.T, dir string) *countingServer {
	t.Helper()
	cs := &countingServer{hits: map[string]int{}}
	fs := http.FileServer(http.Dir(dir))
	cs.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cs.mu.Lock()
		cs.hits[r.URL.Path]++
		cs.mu.Unlock()
		fs.ServeHTTP(w, r)
	}))
	t.Cleanup(cs.Close)
	return cs
}

func (cs *countingServer) count(suffix string) int {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	n := 0
	for p, c := range cs.hits {
		if strings.HasSuffix(p, suffix) {
			n += c
		}
	}
	return n
}

func fetchOne(t *testing.T, repo Repository, cache string) (*Index, error) {
	t.Helper()
	return Fetch(context.Background(), nil, []Repository{repo}, cache)
}

func TestFetchSignedHTTPAndFile(t *testing.T) {
	r := newTestRepo(t)
	keyring := filepath.Join(t.TempDir(), "repo.gpg")
	writeKeyring(t, keyring, r.key, false)
	armored := filepath.Join(t.TempDir(), "repo.asc")
	writeKeyring(t, armored, r.key, true)
	srv := serve(t, r.root)

	for name, repo := range map[string]Repository{
		"http+binary keyring":  {Name: "test", URL: srv.URL, Suite: "stable", Components: []string{"main"}, Keyring: keyring, Arch: "amd64"},
		"file+armored keyring": {Name: "test", URL: "file://" + r.root, Suite: "stable", Components: []string{"main"}, Keyring: armored, Arch: "amd64"},
		"suite by codename":    {Name: "test", URL: srv.URL + "/", Suite: "stable", Components: []string{"main"}, Keyring: keyring, Arch: "amd64"},
	} {
		t.Run(name, func(t *testing.T) {
			ix, err := fetchOne(t, repo, "")
			if err != nil {
				t.Fatal(err)
			}
			// hello-data is in binary-amd64 and binary-all: counted once
			if ix.Len() != 3 {
				t.Errorf("index has %d packages, want 3", ix.Len())
			}
			got, err := ix.Resolve([]string{"hello", "hello-data"}, "amd64")
			if err != nil {
				t.Fatal(err)
			}
			if names(got) != "hello=2.10-3 hello-data=1.0 libc6=2.36-9" {
				t.Errorf("resolved %s", names(got))
			}
			if got[0].Repo != "test" || got[0].Control.Get("Maintainer") == "" {
				t.Errorf("package fields: %+v", got[0])
			}
		})
	}
	// xz is preferred over gz
	if srv.count("Packages.xz") == 0 || srv.count("Packages.gz") != 0 {
		t.Errorf("requests: xz %d gz %d", srv.count("Packages.xz"), srv.count("Packages.gz"))
	}
}

func TestFetchSignatureFailures(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(t *testing.T, r *testRepo, keyring string)
		want   string
	}{
		{"wrong key", func(t *testing.T, r *testRepo, keyring string) {
			writeKeyring(t, keyring, newKey(t, "other"), false)
		}, "signature check failed"},
		{"tampered InRelease", func(t *testing.T, r *testRepo, keyring string) {
			p := filepath.Join(r.dists(), "InRelease")
			data, _ := os.ReadFile(p)
			writeFile(t, p, bytes.Replace(data, []byte("Origin: test"), []byte("Origin: evil"), 1))
		}, "signature check failed"},
		{"unsigned trailer", func(t *testing.T, r *testRepo, keyring string) {
			p := filepath.Join(r.dists(), "InRelease")
			data, _ := os.ReadFile(p)
			writeFile(t, p, append(data, []byte("\nSHA256:\n "+strings.Repeat("0", 64)+" 1 x\n")...))
		}, "unsigned data after"},
		{"not clearsigned", func(t *testing.T, r *testRepo, keyring string) {
			release, _ := os.ReadFile(filepath.Join(r.dists(), "Release"))
			writeFile(t, filepath.Join(r.dists(), "InRelease"), release)
		}, "not a clearsigned message"},
		{"fallback with tampered Release", func(t *testing.T, r *testRepo, keyring string) {
			os.Remove(filepath.Join(r.dists(), "InRelease"))
			p := filepath.Join(r.dists(), "Release")
			data, _ := os.ReadFile(p)
			writeFile(t, p, bytes.Replace(data, []byte("Origin: test"), []byte("Origin: evil"), 1))
		}, "Release.gpg: signature check failed"},
		{"fallback without Release.gpg", func(t *testing.T, r *testRepo, keyring string) {
			os.Remove(filepath.Join(r.dists(), "InRelease"))
			os.Remove(filepath.Join(r.dists(), "Release.gpg"))
		}, "Release.gpg"},
		{"tampered Packages", func(t *testing.T, r *testRepo, keyring string) {
			p := filepath.Join(r.dists(), "main/binary-amd64/Packages.xz")
			data, _ := os.ReadFile(p)
			data[len(data)/2] ^= 0xff
			writeFile(t, p, data)
		}, "main/binary-amd64/Packages.xz: SHA256 mismatch: Release says"},
		{"truncated Packages", func(t *testing.T, r *testRepo, keyring string) {
			p := filepath.Join(r.dists(), "main/binary-amd64/Packages.xz")
			data, _ := os.ReadFile(p)
			writeFile(t, p, data[:10])
		}, "size mismatch"},
		{"wrong suite", func(t *testing.T, r *testRepo, keyring string) {
			p := filepath.Join(r.dists(), "Release")
			data, _ := os.ReadFile(p)
			writeFile(t, p, bytes.Replace(bytes.Replace(data, []byte("Suite: stable"), []byte("Suite: oldstable"), 1), []byte("Codename: bookworm"), []byte("Codename: bullseye"), 1))
			os.Remove(filepath.Join(r.dists(), "InRelease"))
			os.Remove(filepath.Join(r.dists(), "Release.gpg"))
			os.Remove(keyring)
		}, `Release is for suite "oldstable" (codename "bullseye"), not "stable"`},
		{"expired", func(t *testing.T, r *testRepo, keyring string) {
			r.writeRelease(t, "Valid-Until: Sat, 24 May 2025 09:09:48 UTC\n")
		}, "Release expired"},
		{"missing component", func(t *testing.T, r *testRepo, keyring string) {
			os.RemoveAll(filepath.Join(r.dists(), "main/binary-amd64"))
			r.writeRelease(t, "")
		}, "Release lists no main/binary-amd64/Packages"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := newTestRepo(t)
			keyring := filepath.Join(t.TempDir(), "repo.gpg")
			writeKeyring(t, keyring, r.key, false)
			c.mutate(t, r, keyring)
			srv := serve(t, r.root)
			repo := Repository{Name: "test", URL: srv.URL, Suite: "stable", Components: []string{"main"}, Keyring: keyring, Arch: "amd64"}
			if _, err := os.Stat(keyring); err != nil {
				repo.Keyring = ""
			}
			_, err := fetchOne(t, repo, "")
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error = %v\nwant it to contain %q", err, c.want)
			}
			// errors name the repository and its URL
			if !strings.Contains(err.Error(), `repository "test" (`+srv.URL) {
				t.Errorf("error does not name the repository: %v", err)
			}
		})
	}
}

func TestFetchFallbackToReleaseGPG(t *testing.T) {
	r := newTestRepo(t)
	os.Remove(filepath.Join(r.dists(), "InRelease"))
	keyring := filepath.Join(t.TempDir(), "repo.gpg")
	writeKeyring(t, keyring, r.key, false)
	srv := serve(t, r.root)
	ix, err := fetchOne(t, Repository{Name: "test", URL: srv.URL, Suite: "stable", Components: []string{"main"}, Keyring: keyring, Arch: "amd64"}, "")
	if err != nil {
		t.Fatal(err)
	}
	if ix.Len() != 3 {
		t.Errorf("index has %d packages", ix.Len())
	}
}

func TestFetchUnsignedWithoutKeyring(t *testing.T) {
	r := newTestRepo(t)
	os.Remove(filepath.Join(r.dists(), "InRelease"))
	os.Remove(filepath.Join(r.dists(), "Release.gpg"))
	srv := serve(t, r.root)
	if _, err := fetchOne(t, Repository{Name: "test", URL: srv.URL, Suite: "stable", Components: []string{"main"}, Arch: "amd64"}, ""); err != nil {
		t.Fatal(err)
	}
}

func TestFetchCachesIndexes(t *testing.T) {
	r := newTestRepo(t)
	srv := serve(t, r.root)
	cache := t.TempDir()
	repo := Repository{Name: "test", URL: srv.URL, Suite: "stable", Components: []string{"main"}, Arch: "amd64"}
	for i := 0; i < 2; i++ {
		if _, err := fetchOne(t, repo, cache); err != nil {
			t.Fatal(err)
		}
	}
	if n := srv.count("/Packages.xz"); n != 1 {
		t.Errorf("Packages.xz fetched %d times, want 1 (second run from cache)", n)
	}
	if n := srv.count("/InRelease"); n != 2 {
		t.Errorf("InRelease fetched %d times, want 2 (always fresh)", n)
	}
}

func TestFetchAcquireByHash(t *testing.T) {
	r := newTestRepo(t)
	// move Packages.xz to its by-hash name only: the plain path must not be used
	p := filepath.Join(r.dists(), "main/binary-amd64/Packages.xz")
	data, _ := os.ReadFile(p)
	r.writeRelease(t, "Acquire-By-Hash: yes\n")
	os.Remove(p)
	writeFile(t, filepath.Join(r.dists(), "main/binary-amd64/by-hash/SHA256", sha256Hex(data)), data)
	srv := serve(t, r.root)
	if _, err := fetchOne(t, Repository{Name: "test", URL: srv.URL, Suite: "stable", Components: []string{"main"}, Arch: "amd64"}, ""); err != nil {
		t.Fatal(err)
	}
}

func TestFetchConfigErrors(t *testing.T) {
	ctx := context.Background()
	cases := map[string][]Repository{
		"no name":                {{URL: "file:///x", Suite: "s", Components: []string{"main"}}},
		"name used twice":        {{Name: "a", URL: "file:///nonexistent", Suite: "s", Components: []string{"main"}}, {Name: "a"}},
		"url, suite and":         {{Name: "a", Suite: "s"}},
		"unsupported URL scheme": {{Name: "a", URL: "ftp://x", Suite: "s", Components: []string{"main"}}},
		"keyring":                {{Name: "a", URL: "file:///x", Suite: "s", Components: []string{"main"}, Keyring: "/nonexistent/k.gpg"}},
		"must be a relative":     {{Name: "a", URL: "file:///x", Suite: "../etc", Components: []string{"main"}}},
	}
	for want, repos := range cases {
		_, err := Fetch(ctx, nil, repos, "")
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Fetch(%+v) error = %v, want it to contain %q", repos, err, want)
		}
	}
}

func TestLoadKeyringKeybox(t *testing.T) {
	p := filepath.Join(t.TempDir(), "pubring.kbx")
	writeFile(t, p, append([]byte{0, 0, 0, 32, 1, 1, 0, 0}, []byte("KBXf\x00\x00\x00\x00")...))
	if _, err := LoadKeyring(p); err == nil || !strings.Contains(err.Error(), "keybox") {
		t.Errorf("error = %v", err)
	}
}

func TestDownload(t *testing.T) {
	r := newTestRepo(t)
	srv := serve(t, r.root)
	repos := []Repository{{Name: "test", URL: srv.URL, Suite: "stable", Components: []string{"main"}, Arch: "amd64"}}
	ix, err := Fetch(context.Background(), nil, repos, "")
	if err != nil {
		t.Fatal(err)
	}
	pkgs, err := ix.Resolve([]string{"hello"}, "amd64")
	if err != nil {
		t.Fatal(err)
	}
	cache := t.TempDir()
	paths, err := DownloadAll(context.Background(), nil, repos, pkgs, cache, 4)
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range pkgs {
		want := DebPath(cache, p.SHA256)
		if paths[i] != want {
			t.Errorf("path %s, want %s", paths[i], want)
		}
		data, _ := os.ReadFile(paths[i])
		if !bytes.Equal(data, r.debs[p.Filename]) {
			t.Errorf("%s: content differs", p.Name)
		}
	}
	// the same over file://, into a fresh cache
	fileRepos := []Repository{{Name: "test", URL: "file://" + r.root, Suite: "stable", Components: []string{"main"}, Arch: "amd64"}}
	if _, err := DownloadAll(context.Background(), nil, fileRepos, pkgs, t.TempDir(), 1); err != nil {
		t.Fatalf("file:// download: %v", err)
	}
	// cache hit: no network at all
	srv.Close()
	if _, err := Download(context.Background(), nil, repos, pkgs[0], cache); err != nil {
		t.Fatalf("cache hit needed the network: %v", err)
	}
	// a damaged cache file is detected and replaced
	os.WriteFile(paths[0], []byte("junk"), 0o644)
	if _, err := Download(context.Background(), nil, repos, pkgs[0], cache); err == nil {
		t.Fatal("damaged cache file accepted while the server is down")
	}
}

func TestDownloadVerifies(t *testing.T) {
	r := newTestRepo(t)
	srv := serve(t, r.root)
	repos := []Repository{{Name: "test", URL: srv.URL, Suite: "stable", Components: []string{"main"}, Arch: "amd64"}}
	ix, err := Fetch(context.Background(), nil, repos, "")
	if err != nil {
		t.Fatal(err)
	}
	p := ix.Lookup("hello")[0]
	// tamper with the pool file after the index was read
	tampered := append([]byte{}, r.debs[p.Filename]...)
	tampered[len(tampered)-5] ^= 0xff
	writeFile(t, filepath.Join(r.root, p.Filename), tampered)
	cache := t.TempDir()
	_, err = Download(context.Background(), nil, repos, p, cache)
	if err == nil || !strings.Contains(err.Error(), "SHA256 mismatch: index says "+p.SHA256) {
		t.Fatalf("error = %v", err)
	}
	if entries, _ := os.ReadDir(filepath.Join(cache, "debs", "sha256")); len(entries) != 0 {
		t.Errorf("a failed download left %d files behind", len(entries))
	}
	bad := *p
	bad.Repo = "elsewhere"
	if _, err := Download(context.Background(), nil, repos, &bad, cache); err == nil || !strings.Contains(err.Error(), `repository "elsewhere" is not configured`) {
		t.Errorf("error = %v", err)
	}
	bad = *p
	bad.Filename = "../../etc/passwd"
	if _, err := Download(context.Background(), nil, repos, &bad, cache); err == nil || !strings.Contains(err.Error(), "clean relative path") {
		t.Errorf("error = %v", err)
	}
}
