package vuln

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestImportIdempotentAndIndexed(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "vulndb.db")
	res, err := Import(p, []string{debianFixtures(t)})
	if err != nil {
		t.Fatal(err)
	}
	if res.Read != 7 || res.Added != 7 || res.Total != 7 {
		t.Fatalf("first import = %+v, want 7 read, added and total", res)
	}
	res, err = Import(p, []string{debianFixtures(t)})
	if err != nil {
		t.Fatal(err)
	}
	if res.Added != 0 || res.Updated != 7 || res.Total != 7 {
		t.Fatalf("second import = %+v, want 0 added, 7 updated (same modified), 7 total", res)
	}
	db, err := OpenDB(p)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	recs, err := db.Lookup("Debian:12", "zlib")
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 || recs[0].ID != "DEBIAN-CVE-2026-27171" || recs[1].ID != "DEBIAN-CVE-2026-85091" {
		t.Fatalf("Lookup(Debian:12, zlib) = %v", recs)
	}
	if recs, _ := db.Lookup("Debian:11", "glibc"); len(recs) != 1 || recs[0].ID != "DSA-5514-1" {
		t.Fatalf("Lookup(Debian:11, glibc) = %v", recs)
	}
	st, err := db.Stats()
	if err != nil || st.Records != 7 || st.Imported.IsZero() {
		t.Fatalf("Stats = %+v, %v", st, err)
	}
}

func TestReadStatus(t *testing.T) {
	p := filepath.Join(t.TempDir(), "vulndb.db")
	if _, err := Import(p, []string{"../../test/fixtures/osv/debian"}); err != nil {
		t.Fatal(err)
	}
	st, err := ReadStatus(p)
	if err != nil || st.Path != p || st.Records != 7 || st.Imported.IsZero() {
		t.Fatalf("ReadStatus = %+v, %v", st, err)
	}
	raw, _ := json.Marshal(st)
	if !strings.HasPrefix(string(raw), `{"path":"`+p+`","records":7,`) {
		t.Errorf("JSON %s", raw)
	}
}

func TestImportNewerModifiedWinsOlderIsKept(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "vulndb.db")
	rec := func(mod, fixed string) string {
		return `{"id":"GO-2099-0001","modified":"` + mod + `","affected":[{"package":{"ecosystem":"Go","name":"example.com/m"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"` + fixed + `"}]}]}]}`
	}
	write := func(name, body string) string {
		d := filepath.Join(dir, name)
		os.MkdirAll(d, 0o755)
		os.WriteFile(filepath.Join(d, "GO-2099-0001.json"), []byte(body), 0o644)
		return d
	}
	if _, err := Import(p, []string{write("v2", rec("2024-02-01T00:00:00Z", "1.2.0"))}); err != nil {
		t.Fatal(err)
	}
	res, err := Import(p, []string{write("v1", rec("2024-01-01T00:00:00Z", "1.1.0"))})
	if err != nil || res.Unchanged != 1 {
		t.Fatalf("older re-import = %+v, %v; want it kept unchanged", res, err)
	}
	res, err = Import(p, []string{write("v3", rec("2024-03-01T00:00:00Z", "1.3.0"))})
	if err != nil || res.Updated != 1 || res.Total != 1 {
		t.Fatalf("newer re-import = %+v, %v; want 1 updated", res, err)
	}
	db, _ := OpenDB(p)
	defer db.Close()
	recs, _ := db.Lookup("Go", "example.com/m")
	if len(recs) != 1 || recs[0].Affected[0].Ranges[0].Events[1].Fixed != "1.3.0" {
		t.Fatalf("stored record = %+v, want the 2024-03 one", recs)
	}
}

// A malformed file anywhere in the sources: the error names it and the
// field, and the existing database is byte for byte what it was, with no
// temporary file left beside it.
func TestImportMalformedLeavesDatabaseUntouched(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "vulndb.db")
	if _, err := Import(p, []string{debianFixtures(t)}); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(p)
	src := filepath.Join(dir, "src", "sub")
	os.MkdirAll(src, 0o755)
	os.WriteFile(filepath.Join(src, "GO-2099-0002.json"), []byte(`{"id":"GO-2099-0002","modified":"2024-01-01T00:00:00Z","affected":[{"package":{"ecosystem":"Go","name":"x"},"ranges":[{"type":"SEMVER","events":[{"fixed":"1.0.0","introduced":"0"}]}]}]}`), 0o644)
	os.WriteFile(filepath.Join(src, "a-good.json"), []byte(`{"id":"GO-2099-0003","modified":"2024-01-01T00:00:00Z"}`), 0o644)
	_, err := Import(p, []string{filepath.Join(dir, "src")})
	if err == nil || !strings.Contains(err.Error(), filepath.Join(src, "GO-2099-0002.json")) || !strings.Contains(err.Error(), "affected[0].ranges[0].events[0]") {
		t.Fatalf("Import = %v, want an error naming the file and affected[0].ranges[0].events[0]", err)
	}
	after, _ := os.ReadFile(p)
	if !bytes.Equal(before, after) {
		t.Fatal("the database changed after a failed import")
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.Contains(e.Name(), ".tmp-") {
			t.Fatalf("temporary file %s left behind", e.Name())
		}
	}
}

func TestImportZip(t *testing.T) {
	dir := t.TempDir()
	zp := filepath.Join(dir, "all.zip")
	f, _ := os.Create(zp)
	zw := zip.NewWriter(f)
	files, _ := filepath.Glob(filepath.Join(debianFixtures(t), "*.json"))
	for _, p := range files {
		w, _ := zw.Create(filepath.Base(p))
		b, _ := os.ReadFile(p)
		w.Write(b)
	}
	w, _ := zw.Create("broken.json")
	w.Write([]byte(`{"id":"DSA-1-1","modified":"2024-01-01T00:00:00Z","affected":[{"package":{"ecosystem":"Debian:12"}}]}`))
	zw.Close()
	f.Close()
	_, err := Import(filepath.Join(dir, "db"), []string{zp})
	if err == nil || !strings.Contains(err.Error(), "all.zip!broken.json") || !strings.Contains(err.Error(), "affected[0].package.name") {
		t.Fatalf("Import(zip with a broken record) = %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "db")); !os.IsNotExist(err) {
		t.Fatalf("a database was written after a failed import: %v", err)
	}
	// Without the broken entry the zip imports.
	f, _ = os.Create(zp)
	zw = zip.NewWriter(f)
	for _, p := range files {
		w, _ := zw.Create("osv/" + filepath.Base(p))
		b, _ := os.ReadFile(p)
		w.Write(b)
	}
	zw.Close()
	f.Close()
	res, err := Import(filepath.Join(dir, "db"), []string{zp})
	if err != nil || res.Total != len(files) {
		t.Fatalf("Import(zip) = %+v, %v", res, err)
	}
}

// Two imports at once into one database: both sets of records end up in it
// (each import copies the old records, so without the lock one would lose
// the other's).
func TestImportConcurrentKeepsBoth(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "vulndb.db")
	srcs := make([]string, 2)
	for i := range srcs {
		srcs[i] = filepath.Join(dir, "src"+strconv.Itoa(i))
		os.MkdirAll(srcs[i], 0o755)
		for j := 0; j < 200; j++ {
			id := "GO-2099-" + strconv.Itoa(i*1000+j)
			os.WriteFile(filepath.Join(srcs[i], id+".json"), []byte(`{"id":"`+id+`","modified":"2024-01-01T00:00:00Z","affected":[{"package":{"ecosystem":"Go","name":"example.com/m"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0"}]}]}]}`), 0o644)
		}
	}
	errs := make(chan error, 2)
	for _, s := range srcs {
		go func(s string) { _, err := Import(p, []string{s}); errs <- err }(s)
	}
	for range srcs {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	db, err := OpenDB(p)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if st, _ := db.Stats(); st.Records != 400 {
		t.Fatalf("%d records after two concurrent imports of 200, want 400", st.Records)
	}
}
