package vuln

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestWriterFormats(t *testing.T) {
	res := sampleResult(t)
	for format, want := range map[string]string{
		"":          "localhost:5000/app:1:",
		"table":     "localhost:5000/app:1:",
		"json":      `"findings"`,
		"sarif":     `"version": "2.1.0"`,
		"cyclonedx": `"bomFormat": "CycloneDX"`,
	} {
		write, err := Writer(format, "1.2.3")
		if err != nil {
			t.Fatalf("Writer(%q): %v", format, err)
		}
		var b bytes.Buffer
		if err := write(&b, res); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(b.String(), want) {
			t.Errorf("Writer(%q) output lacks %s:\n%.300s", format, want, b.String())
		}
	}
	if _, err := Writer("xml", "1.2.3"); err == nil || err.Error() != `--format "xml": want table, json, sarif or cyclonedx` {
		t.Errorf("Writer(xml): %v", err)
	}
}

func TestWriteDBText(t *testing.T) {
	var b bytes.Buffer
	WriteImportText(&b, "v.db", ImportResult{Read: 5, Added: 2, Updated: 1, Unchanged: 2, Total: 9})
	if got, want := b.String(), "v.db: 5 records read, 2 added, 1 updated, 2 kept (newer in the database); 9 records in total\n"; got != want {
		t.Errorf("import: %q, want %q", got, want)
	}
	b.Reset()
	WriteStatsText(&b, "v.db", Stats{Records: 3, Packages: 2, Imported: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)})
	if got, want := b.String(), "v.db: 3 records for 2 packages, last import 2026-01-02 03:04:05 UTC\n"; got != want {
		t.Errorf("status: %q, want %q", got, want)
	}
}
