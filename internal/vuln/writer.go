package vuln

import (
	"fmt"
	"io"
)

// Writer returns the writer of a scan result in format (table, json, sarif
// or cyclonedx; "" is table); version is berth's, for the formats that name
// their tool.
func Writer(format, version string) (func(io.Writer, *Result) error, error) {
	switch format {
	case "table", "":
		return WriteTable, nil
	case "json":
		return WriteJSON, nil
	case "sarif":
		return func(w io.Writer, r *Result) error { return WriteSARIF(w, r, version) }, nil
	case "cyclonedx":
		return func(w io.Writer, r *Result) error { return WriteCycloneDXVEX(w, r, version) }, nil
	}
	return nil, fmt.Errorf("--format %q: want table, json, sarif or cyclonedx", format)
}

// WriteImportText prints what an import into the database at path did.
func WriteImportText(w io.Writer, path string, res ImportResult) {
	fmt.Fprintf(w, "%s: %d records read, %d added, %d updated, %d kept (newer in the database); %d records in total\n",
		path, res.Read, res.Added, res.Updated, res.Unchanged, res.Total)
}

// WriteStatsText prints the counts of the database at path.
func WriteStatsText(w io.Writer, path string, st Stats) {
	fmt.Fprintf(w, "%s: %d records for %d packages, last import %s\n", path, st.Records, st.Packages, st.Imported.Format("2006-01-02 15:04:05 MST"))
}
