package vuln

import (
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
)

// VEX is a set of OpenVEX statements (https://openvex.dev/ns) that silence
// findings: a statement with status not_affected or fixed suppresses the
// findings whose vulnerability id or alias it names, for the products it
// lists (a package purl, or the scanned image by digest, optionally narrowed
// to subcomponents by purl). Other statuses are kept but change nothing.
type VEX struct {
	Statements []VEXStatement
}

// VEXStatement is one statement, normalised over OpenVEX v0.0.x/v0.2.0.
type VEXStatement struct {
	Source        string // file it came from
	Vulnerability []string
	Products      []VEXProduct
	Status        string
	Justification string
	Impact        string
}

// VEXProduct is a product: its @id (purl, "pkg:oci/…@sha256:…" or a bare
// digest) and the subcomponents it is narrowed to.
type VEXProduct struct {
	ID            string
	Subcomponents []string
}

type vexDoc struct {
	Context    string            `json:"@context"`
	Statements []json.RawMessage `json:"statements"`
}

type vexStatementJSON struct {
	Vulnerability   json.RawMessage   `json:"vulnerability"`
	Products        []json.RawMessage `json:"products"`
	Status          string            `json:"status"`
	Justification   string            `json:"justification"`
	ImpactStatement string            `json:"impact_statement"`
}

// LoadVEX reads OpenVEX documents from files or directories (every *.json
// below a directory).
func LoadVEX(paths []string) (*VEX, error) {
	v := &VEX{}
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("--vex: %w", err)
		}
		var files []string
		if st.IsDir() {
			err := filepath.WalkDir(p, func(f string, d fs.DirEntry, err error) error {
				if err != nil {
					return err
				}
				if d.Type().IsRegular() && strings.HasSuffix(d.Name(), ".json") {
					files = append(files, f)
				}
				return nil
			})
			if err != nil {
				return nil, fmt.Errorf("--vex: %w", err)
			}
			sort.Strings(files)
		} else if st.Mode().IsRegular() {
			files = []string{p}
		} else {
			return nil, fmt.Errorf("--vex %s: not a regular file or directory", p)
		}
		for _, f := range files {
			data, err := readVEX(f)
			if err != nil {
				return nil, err
			}
			if err := v.Add(f, data); err != nil {
				return nil, err
			}
		}
	}
	return v, nil
}

// maxVEX bounds one OpenVEX document read into memory (the files come from
// berth.yaml's policy and the command line: a repository's content).
const maxVEX = 16 << 20

// readVEX reads one VEX file: a regular file (opened without following a
// link that replaced it) of at most maxVEX bytes.
func readVEX(path string) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, fmt.Errorf("--vex: %w", err)
	}
	defer f.Close()
	if st, err := f.Stat(); err != nil || !st.Mode().IsRegular() {
		return nil, fmt.Errorf("--vex %s: not a regular file", path)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxVEX+1))
	if err != nil {
		return nil, fmt.Errorf("--vex %s: %w", path, err)
	}
	if len(data) > maxVEX {
		return nil, fmt.Errorf("--vex %s: more than %d bytes: not an OpenVEX document berth reads", path, maxVEX)
	}
	return data, nil
}

// Add parses one OpenVEX document.
func (v *VEX) Add(name string, data []byte) error {
	var doc vexDoc
	if err := json.Unmarshal(data, &doc); err != nil {
		return fmt.Errorf("%s: not an OpenVEX document: %v", name, err)
	}
	if !strings.HasPrefix(doc.Context, "https://openvex.dev/ns") {
		return fmt.Errorf("%s: field @context: %q is not https://openvex.dev/ns[/vX.Y.Z]", name, doc.Context)
	}
	for i, raw := range doc.Statements {
		var sj vexStatementJSON
		f := fmt.Sprintf("statements[%d]", i)
		if err := json.Unmarshal(raw, &sj); err != nil {
			return fmt.Errorf("%s: field %s: %v", name, f, err)
		}
		st := VEXStatement{Source: name, Status: sj.Status, Justification: sj.Justification, Impact: sj.ImpactStatement}
		switch sj.Status {
		case "not_affected", "affected", "fixed", "under_investigation":
		default:
			return fmt.Errorf("%s: field %s.status: %q is not not_affected, affected, fixed or under_investigation", name, f, sj.Status)
		}
		// vulnerability: a string (v0.0.x) or {"name", "@id", "aliases"}.
		var vs string
		if json.Unmarshal(sj.Vulnerability, &vs) == nil && vs != "" {
			st.Vulnerability = []string{vs}
		} else {
			var vo struct {
				Name    string   `json:"name"`
				ID      string   `json:"@id"`
				Aliases []string `json:"aliases"`
			}
			if err := json.Unmarshal(sj.Vulnerability, &vo); err != nil {
				return fmt.Errorf("%s: field %s.vulnerability: %v", name, f, err)
			}
			for _, s := range append([]string{vo.Name, vo.ID}, vo.Aliases...) {
				if s != "" {
					st.Vulnerability = append(st.Vulnerability, s)
				}
			}
		}
		if len(st.Vulnerability) == 0 {
			return fmt.Errorf("%s: field %s.vulnerability: missing", name, f)
		}
		for j, pr := range sj.Products {
			var ps string
			if json.Unmarshal(pr, &ps) == nil && ps != "" {
				st.Products = append(st.Products, VEXProduct{ID: ps})
				continue
			}
			var po struct {
				ID          string            `json:"@id"`
				Identifiers map[string]string `json:"identifiers"`
				Sub         []struct {
					ID          string            `json:"@id"`
					Identifiers map[string]string `json:"identifiers"`
				} `json:"subcomponents"`
			}
			if err := json.Unmarshal(pr, &po); err != nil {
				return fmt.Errorf("%s: field %s.products[%d]: %v", name, f, j, err)
			}
			p := VEXProduct{ID: po.ID}
			if p.ID == "" {
				p.ID = po.Identifiers["purl"]
			}
			for _, s := range po.Sub {
				id := s.ID
				if id == "" {
					id = s.Identifiers["purl"]
				}
				if id != "" {
					p.Subcomponents = append(p.Subcomponents, id)
				}
			}
			if p.ID == "" {
				return fmt.Errorf("%s: field %s.products[%d].@id: missing", name, f, j)
			}
			st.Products = append(st.Products, p)
		}
		if len(st.Products) == 0 {
			return fmt.Errorf("%s: field %s.products: missing", name, f)
		}
		v.Statements = append(v.Statements, st)
	}
	return nil
}

// suppresses returns the statement silencing a finding of pkg, if any.
// imageDigest ("sha256:…", may be empty) is the scanned image's.
func (v *VEX) suppresses(ids []string, pkg Package, imageDigest string) *VEXStatement {
	if v == nil {
		return nil
	}
	for i := range v.Statements {
		st := &v.Statements[i]
		if st.Status != "not_affected" && st.Status != "fixed" {
			continue
		}
		if !anyEqualFold(st.Vulnerability, ids) {
			continue
		}
		for _, pr := range st.Products {
			if productMatches(pr, pkg, imageDigest) {
				return st
			}
		}
	}
	return nil
}

func anyEqualFold(a, b []string) bool {
	for _, x := range a {
		for _, y := range b {
			if strings.EqualFold(x, y) {
				return true
			}
		}
	}
	return false
}

func productMatches(pr VEXProduct, pkg Package, imageDigest string) bool {
	if purlMatches(pr.ID, pkg) {
		return true
	}
	if imageDigest == "" || !strings.Contains(pr.ID, imageDigest) {
		return false
	}
	// The image itself: all its packages, or the listed subcomponents.
	if len(pr.Subcomponents) == 0 {
		return true
	}
	for _, s := range pr.Subcomponents {
		if purlMatches(s, pkg) {
			return true
		}
	}
	return false
}

func purlMatches(id string, pkg Package) bool {
	if !strings.HasPrefix(id, "pkg:") || strings.HasPrefix(id, "pkg:oci/") {
		return false
	}
	p, err := ParsePurl(id)
	if err != nil {
		return false
	}
	return sameIdentity(p, pkg)
}
