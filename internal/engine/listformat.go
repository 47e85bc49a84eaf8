package engine

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
)

// ContainerList is how `berth ps` prints containers (and up and scale
// theirs): a table, names only (-q) or JSON (--format json), exited
// containers only with All. JSONAll is ps --json, kept from earlier
// versions: every container, exited ones too, as JSON.
type ContainerList struct {
	Format  string // "", "table" or "json"
	Quiet   bool
	All     bool
	JSONAll bool
}

// Check refuses an unknown --format before anything is asked of the daemon.
func (l ContainerList) Check() error {
	switch l.Format {
	case "", "table", "json":
		return nil
	}
	return fmt.Errorf("--format %q: want table or json", l.Format)
}

// Write prints cs; short shortens image digests in the table.
func (l ContainerList) Write(w io.Writer, cs []Container, short func(string) string) error {
	if err := l.Check(); err != nil {
		return err
	}
	if l.JSONAll {
		return writeIndentedJSON(w, cs)
	}
	if !l.All {
		cs = slices.DeleteFunc(slices.Clone(cs), Container.Stopped)
	}
	switch {
	case l.Quiet:
		for _, c := range cs {
			fmt.Fprintln(w, c.Name)
		}
	case l.Format == "json":
		return writeIndentedJSON(w, cs)
	default:
		WriteContainers(w, cs, short)
	}
	return nil
}

func writeIndentedJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
