package sbom

import (
	"strings"
)

// CycloneDX JSON types (CycloneDX 1.6): only what berth writes.
type cdxBOM struct {
	BOMFormat    string          `json:"bomFormat"`
	SpecVersion  string          `json:"specVersion"`
	SerialNumber string          `json:"serialNumber"`
	Version      int             `json:"version"`
	Metadata     cdxMetadata     `json:"metadata"`
	Components   []cdxComponent  `json:"components"`
	Dependencies []cdxDependency `json:"dependencies"`
}

type cdxMetadata struct {
	Timestamp string       `json:"timestamp"`
	Tools     cdxTools     `json:"tools"`
	Component cdxComponent `json:"component"`
}

type cdxTools struct {
	Components []cdxComponent `json:"components"`
}

type cdxComponent struct {
	BOMRef     string        `json:"bom-ref,omitempty"`
	Type       string        `json:"type"`
	Name       string        `json:"name"`
	Version    string        `json:"version,omitempty"`
	Hashes     []cdxHash     `json:"hashes,omitempty"`
	Licenses   []cdxLicense  `json:"licenses,omitempty"`
	PURL       string        `json:"purl,omitempty"`
	Properties []cdxProperty `json:"properties,omitempty"`
}

type cdxHash struct {
	Alg     string `json:"alg"`
	Content string `json:"content"`
}

type cdxLicense struct {
	License cdxLicenseChoice `json:"license"`
}

type cdxLicenseChoice struct {
	ID   string `json:"id,omitempty"`
	Name string `json:"name,omitempty"`
}

type cdxProperty struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

type cdxDependency struct {
	Ref       string   `json:"ref"`
	DependsOn []string `json:"dependsOn"`
}

// CycloneDXPredicateType is the in-toto predicate type of a CycloneDX BOM (internal/sign's
// too: sbom imports nothing of sign; trust's TestPredicateTypesAgree checks).
const CycloneDXPredicateType = "https://cyclonedx.org/bom"

// CycloneDX renders inv as a CycloneDX 1.6 JSON BOM: the image is the
// metadata component (type container), which depends on every package and
// file component.
func CycloneDX(inv *Inventory, m Meta) ([]byte, error) {
	const imageRef = "image"
	hexDigest := strings.TrimPrefix(inv.Digest, "sha256:")
	bom := cdxBOM{
		BOMFormat: "CycloneDX", SpecVersion: "1.6", SerialNumber: "urn:uuid:" + DocumentUUID(inv.Digest, "cyclonedx"), Version: 1,
		Metadata: cdxMetadata{
			Timestamp: m.time(inv),
			Tools:     cdxTools{Components: []cdxComponent{{Type: "application", Name: "berth", Version: m.tool()}}},
			Component: cdxComponent{BOMRef: imageRef, Type: "container", Name: inv.Name, Version: inv.Digest,
				Hashes: []cdxHash{{"SHA-256", hexDigest}}, PURL: OCIPURL(inv)},
		},
		Components: []cdxComponent{},
	}
	dep := cdxDependency{Ref: imageRef, DependsOn: []string{}}
	count := map[string]int{}
	for _, p := range inv.Packages {
		count[p.PURL]++
	}
	for _, p := range inv.Packages {
		ref := p.PURL
		if count[p.PURL] > 1 {
			ref += "#" + p.Location // the same module in two binaries
		}
		c := cdxComponent{BOMRef: ref, Type: "library", Name: p.Name, Version: p.Version, PURL: p.PURL}
		if p.Main {
			c.Type = "application"
		}
		for _, l := range p.Licenses {
			if IsLicenseRef(l) {
				c.Licenses = append(c.Licenses, cdxLicense{cdxLicenseChoice{Name: strings.TrimPrefix(l, "LicenseRef-")}})
			} else {
				c.Licenses = append(c.Licenses, cdxLicense{cdxLicenseChoice{ID: l}})
			}
		}
		c.Properties = append(c.Properties, cdxProperty{"berth:location", p.Location})
		if p.Source != "" {
			c.Properties = append(c.Properties, cdxProperty{"berth:deb:source", p.Source})
		}
		if p.SourceVersion != "" {
			c.Properties = append(c.Properties, cdxProperty{"berth:deb:sourceVersion", p.SourceVersion})
		}
		if p.Sum != "" {
			c.Properties = append(c.Properties, cdxProperty{"berth:golang:sum", p.Sum})
		}
		bom.Components = append(bom.Components, c)
		dep.DependsOn = append(dep.DependsOn, ref)
	}
	for _, f := range inv.Files {
		ref := "file:" + f.Path
		bom.Components = append(bom.Components, cdxComponent{BOMRef: ref, Type: "file", Name: f.Path,
			Hashes: []cdxHash{{"SHA-1", f.SHA1}, {"SHA-256", f.SHA256}}})
		dep.DependsOn = append(dep.DependsOn, ref)
	}
	bom.Dependencies = []cdxDependency{dep}
	return marshal(bom)
}
