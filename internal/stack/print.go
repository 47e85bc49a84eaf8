package stack

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v4"
)

// Print writes the stack as indented JSON or as YAML with the fields
// in the model's order (not sorted), going through the JSON form so both
// outputs carry the same names and duration strings.
func Print(w io.Writer, st *Stack, asJSON bool) error {
	data, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	if asJSON {
		_, err = fmt.Fprintf(w, "%s\n", data)
		return err
	}
	// JSON is YAML: parse it into nodes (which keep key order) and drop
	// the JSON flow and quoting styles before encoding.
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return err
	}
	blockStyle(&doc)
	enc := yaml.NewEncoder(w)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return err
	}
	return enc.Close()
}

func blockStyle(n *yaml.Node) {
	n.Style = 0
	if n.Kind == yaml.ScalarNode && n.Tag == "!!str" {
		switch {
		case strings.Contains(n.Value, "\n"):
			n.Style = yaml.LiteralStyle
		case yaml11Bools[strings.ToLower(n.Value)]:
			// YAML 1.1 readers take these for booleans.
			n.Style = yaml.DoubleQuotedStyle
		}
	}
	for i, c := range n.Content {
		blockStyle(c)
		// File modes read better in octal, as they are written.
		if n.Kind == yaml.MappingNode && i%2 == 1 && c.Tag == "!!int" {
			if k := n.Content[i-1].Value; k == "mode" || k == "tmpfs_mode" {
				if v, err := strconv.ParseUint(c.Value, 10, 32); err == nil {
					c.Value = "0o" + strconv.FormatUint(v, 8)
				}
			}
		}
	}
}

var yaml11Bools = map[string]bool{"y": true, "n": true, "yes": true, "no": true, "on": true, "off": true}

// IsPrinted says whether the file at path is Print's output (berth's
// normalised model: a top-level "dir" and "services" as a list) rather than
// a compose file or berth.yaml, and returns the files it was made from. That
// form is for reading, not for loading: it has no interpolation, no
// validation path and no relative paths, so Load does not accept it.
func IsPrinted(path string) (from []string, ok bool) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, false
	}
	var top struct {
		Dir      string    `yaml:"dir"`
		Services yaml.Node `yaml:"services"`
		Files    []string  `yaml:"files"`
	}
	if yaml.Unmarshal(data, &top) != nil || top.Dir == "" || top.Services.Kind != yaml.SequenceNode {
		return nil, false
	}
	return top.Files, true
}

// RefusePrinted fails, saying what the file is and which files to load
// instead, when one of paths is Print's output. Load calls it; so do the
// commands that read berth.yaml without Load (build, lock, promote).
func RefusePrinted(paths ...string) error {
	for _, path := range paths {
		from, ok := IsPrinted(path)
		if !ok {
			continue
		}
		use := "the compose file or berth.yaml it was made from"
		if len(from) > 0 {
			use = strings.Join(from, ", ")
		}
		return fmt.Errorf("%s is the output of `berth config` (berth's normalised stack, for reading), not a stack file; load the files it was made from instead: -f %s", path, use)
	}
	return nil
}
