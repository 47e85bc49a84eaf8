package vuln

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"
)

// maxSBOM bounds an SBOM file read into memory.
const maxSBOM = 256 << 20

// ReadSBOM returns the purls of an SPDX 2.x JSON document (packages[].
// externalRefs of referenceType purl) or a CycloneDX JSON BOM (components[]
// .purl, nested components included).
func ReadSBOM(path string) (purls []string, err error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("--sbom: %w", err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("--sbom %s: not a regular file", path)
	}
	if st.Size() > maxSBOM {
		return nil, fmt.Errorf("--sbom %s: %d bytes, more than %d", path, st.Size(), maxSBOM)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--sbom: %w", err)
	}
	return ParseSBOM(path, data)
}

type cdxComponent struct {
	Purl       string         `json:"purl"`
	Components []cdxComponent `json:"components"`
}

// ParseSBOM is ReadSBOM on bytes; name is for errors.
func ParseSBOM(name string, data []byte) ([]string, error) {
	var probe struct {
		SPDXVersion string `json:"spdxVersion"`
		BOMFormat   string `json:"bomFormat"`
		Packages    []struct {
			SPDXID       string `json:"SPDXID"`
			ExternalRefs []struct {
				Category string `json:"referenceCategory"`
				Type     string `json:"referenceType"`
				Locator  string `json:"referenceLocator"`
			} `json:"externalRefs"`
		} `json:"packages"`
		Components []cdxComponent `json:"components"`
	}
	if err := json.Unmarshal(data, &probe); err != nil {
		return nil, fmt.Errorf("%s: not a JSON SBOM: %v", name, err)
	}
	set := map[string]bool{}
	switch {
	case probe.SPDXVersion != "":
		for i, p := range probe.Packages {
			for j, r := range p.ExternalRefs {
				if r.Type != "purl" {
					continue
				}
				if _, err := ParsePurl(r.Locator); err != nil {
					return nil, fmt.Errorf("%s: field packages[%d].externalRefs[%d].referenceLocator: %v", name, i, j, err)
				}
				set[r.Locator] = true
			}
		}
	case probe.BOMFormat == "CycloneDX":
		var walk func(path string, cs []cdxComponent) error
		walk = func(path string, cs []cdxComponent) error {
			for i, c := range cs {
				f := fmt.Sprintf("%s[%d]", path, i)
				if c.Purl != "" {
					if _, err := ParsePurl(c.Purl); err != nil {
						return fmt.Errorf("%s: field %s.purl: %v", name, f, err)
					}
					set[c.Purl] = true
				}
				if err := walk(f+".components", c.Components); err != nil {
					return err
				}
			}
			return nil
		}
		if err := walk("components", probe.Components); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("%s: neither SPDX (spdxVersion) nor CycloneDX (bomFormat) JSON", name)
	}
	out := make([]string, 0, len(set))
	for p := range set {
		out = append(out, p)
	}
	sort.Strings(out)
	return out, nil
}
