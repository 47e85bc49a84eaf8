package vuln

import (
	"github.com/berth-dev/berth/internal/deb"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseRecordNamesFileAndField(t *testing.T) {
	cases := []struct{ data, want string }{
		{`{"modified":"2024-01-01T00:00:00Z"}`, "field id: missing"},
		{`{"id":"X-1"}`, "field modified: missing"},
		{`{"id":"X-1","modified":"yesterday"}`, `field modified: "yesterday" is not an RFC 3339 time`},
		{`{"id":"X-1","modified":"2024-01-01T00:00:00Z","affected":[{"package":{"name":"a"}}]}`, "field affected[0].package.ecosystem: missing"},
		{`{"id":"X-1","modified":"2024-01-01T00:00:00Z","affected":[{"package":{"ecosystem":"Go","name":"a"},"ranges":[{"type":"SEMVR","events":[{"introduced":"0"}]}]}]}`, `field affected[0].ranges[0].type: "SEMVR"`},
		{`{"id":"X-1","modified":"2024-01-01T00:00:00Z","affected":[{"package":{"ecosystem":"Go","name":"a"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0","fixed":"1.0.0"}]}]}]}`, "field affected[0].ranges[0].events[0]: want exactly one"},
		{`{"id":"X-1","modified":"2024-01-01T00:00:00Z","affected":[{"package":{"ecosystem":"Go","name":"a"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"1"},{"last_affected":"2"}]}]}]}`, "fixed and last_affected in one range"},
		{`{"id":"X-1","modified":"2024-01-01T00:00:00Z","aliases":"CVE-1"}`, "field aliases: string is not a valid []string"},
		{`{"id":`, "not an OSV JSON record"},
		{`{"id":"X-1","modified":"2024-01-01T00:00:00Z"} {}`, "more than one JSON value"},
	}
	for _, c := range cases {
		_, err := ParseRecord("dir/bad.json", []byte(c.data))
		if err == nil || !strings.Contains(err.Error(), "dir/bad.json: ") || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ParseRecord(%s) = %v, want an error naming dir/bad.json and %q", c.data, err, c.want)
		}
	}
}

func TestParseRecordDebianFixtures(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(debianFixtures(t), "*.json"))
	if len(files) < 7 {
		t.Fatalf("want the 7 Debian fixtures, found %d", len(files))
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ParseRecord(f, data); err != nil {
			t.Error(err)
		}
	}
}

func FuzzParseRecord(f *testing.F) {
	files, _ := filepath.Glob("../../test/fixtures/osv/debian/*.json")
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(`{"id":"GO-1","modified":"2024-01-01T00:00:00Z","affected":[{"package":{"ecosystem":"Go","name":"stdlib"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"1.22.3"}]}],"versions":["1.0.0"]}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := ParseRecord("fuzz.json", data)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz.json: ") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		// A valid record is matchable without panics, for both orderings.
		for _, q := range []query{
			{ecosystem: "Go", version: "1.2.3", compare: compareSemver, valid: validSemver},
			{ecosystem: "Debian:12", version: "1:1.2-3", compare: deb.CompareVersions, valid: validDebian},
		} {
			for _, a := range r.Affected {
				match(a, q)
				rate(r, &a)
			}
		}
	})
}
