package sbom

import (
	"encoding/json"
	"fmt"
	"net/url"
	"sort"
	"strings"
)

// SPDX JSON types (SPDX 2.3): only what berth writes.
type spdxDocument struct {
	SPDXVersion       string             `json:"spdxVersion"`
	DataLicense       string             `json:"dataLicense"`
	SPDXID            string             `json:"SPDXID"`
	Name              string             `json:"name"`
	DocumentNamespace string             `json:"documentNamespace"`
	CreationInfo      spdxCreationInfo   `json:"creationInfo"`
	Packages          []spdxPackage      `json:"packages"`
	Files             []spdxFile         `json:"files,omitempty"`
	Relationships     []spdxRelationship `json:"relationships"`
	Extracted         []spdxExtracted    `json:"hasExtractedLicensingInfos,omitempty"`
}

type spdxCreationInfo struct {
	Created  string   `json:"created"`
	Creators []string `json:"creators"`
}

type spdxPackage struct {
	SPDXID           string         `json:"SPDXID"`
	Name             string         `json:"name"`
	VersionInfo      string         `json:"versionInfo,omitempty"`
	Supplier         string         `json:"supplier,omitempty"`
	DownloadLocation string         `json:"downloadLocation"`
	FilesAnalyzed    bool           `json:"filesAnalyzed"`
	Checksums        []spdxChecksum `json:"checksums,omitempty"`
	SourceInfo       string         `json:"sourceInfo,omitempty"`
	LicenseConcluded string         `json:"licenseConcluded"`
	LicenseDeclared  string         `json:"licenseDeclared"`
	CopyrightText    string         `json:"copyrightText"`
	ExternalRefs     []spdxRef      `json:"externalRefs,omitempty"`
	Purpose          string         `json:"primaryPackagePurpose,omitempty"`
}

type spdxChecksum struct {
	Algorithm string `json:"algorithm"`
	Value     string `json:"checksumValue"`
}

type spdxRef struct {
	Category string `json:"referenceCategory"`
	Type     string `json:"referenceType"`
	Locator  string `json:"referenceLocator"`
}

type spdxFile struct {
	SPDXID           string         `json:"SPDXID"`
	FileName         string         `json:"fileName"`
	Checksums        []spdxChecksum `json:"checksums"`
	LicenseConcluded string         `json:"licenseConcluded"`
	CopyrightText    string         `json:"copyrightText"`
}

type spdxRelationship struct {
	Element string `json:"spdxElementId"`
	Type    string `json:"relationshipType"`
	Related string `json:"relatedSpdxElement"`
}

type spdxExtracted struct {
	LicenseID     string `json:"licenseId"`
	ExtractedText string `json:"extractedText"`
	Name          string `json:"name"`
}

// SPDXPredicateType is the in-toto predicate type of an SPDX document (internal/sign's
// too: sbom imports nothing of sign; trust's TestPredicateTypesAgree checks).
const SPDXPredicateType = "https://spdx.dev/Document"

// SPDX renders inv as an SPDX 2.3 JSON document: the image is a package
// (purpose CONTAINER) the document DESCRIBES, which CONTAINS every
// package and file.
func SPDX(inv *Inventory, m Meta) ([]byte, error) {
	const imageID = "SPDXRef-Image"
	doc := spdxDocument{
		SPDXVersion: "SPDX-2.3", DataLicense: "CC0-1.0", SPDXID: "SPDXRef-DOCUMENT", Name: inv.Name,
		DocumentNamespace: "https://berth.dev/spdx/" + url.PathEscape(inv.Name) + "-" + DocumentUUID(inv.Digest, "spdx"),
		CreationInfo:      spdxCreationInfo{Created: m.time(inv), Creators: []string{"Tool: berth-" + m.tool()}},
		Relationships:     []spdxRelationship{{"SPDXRef-DOCUMENT", "DESCRIBES", imageID}},
	}
	hexDigest := strings.TrimPrefix(inv.Digest, "sha256:")
	doc.Packages = append(doc.Packages, spdxPackage{
		SPDXID: imageID, Name: inv.Name, VersionInfo: inv.Digest, Supplier: NoAssertion, DownloadLocation: NoAssertion,
		Checksums:        []spdxChecksum{{"SHA256", hexDigest}},
		LicenseConcluded: NoAssertion, LicenseDeclared: NoAssertion, CopyrightText: NoAssertion,
		ExternalRefs: []spdxRef{{"PACKAGE-MANAGER", "purl", OCIPURL(inv)}}, Purpose: "CONTAINER",
	})
	refs := map[string]bool{}
	for i, p := range inv.Packages {
		id := fmt.Sprintf("SPDXRef-Package-%s-%s-%d", p.Kind, spdxIDPart(p.Name), i)
		declared := NoAssertion
		if len(p.Licenses) > 0 {
			declared = strings.Join(p.Licenses, " AND ")
			for _, l := range p.Licenses {
				if IsLicenseRef(l) {
					refs[l] = true
				}
			}
		}
		purpose := "LIBRARY"
		if p.Main {
			purpose = "APPLICATION"
		} else if p.Kind == KindDeb {
			purpose = "INSTALL"
		}
		doc.Packages = append(doc.Packages, spdxPackage{
			SPDXID: id, Name: p.Name, VersionInfo: p.Version, Supplier: NoAssertion, DownloadLocation: NoAssertion,
			SourceInfo:       "acquired package info from " + p.Location,
			LicenseConcluded: NoAssertion, LicenseDeclared: declared, CopyrightText: NoAssertion,
			ExternalRefs: []spdxRef{{"PACKAGE-MANAGER", "purl", p.PURL}}, Purpose: purpose,
		})
		doc.Relationships = append(doc.Relationships, spdxRelationship{imageID, "CONTAINS", id})
	}
	for i, f := range inv.Files {
		id := fmt.Sprintf("SPDXRef-File-%d", i)
		doc.Files = append(doc.Files, spdxFile{SPDXID: id, FileName: "." + f.Path,
			Checksums:        []spdxChecksum{{"SHA1", f.SHA1}, {"SHA256", f.SHA256}},
			LicenseConcluded: NoAssertion, CopyrightText: NoAssertion})
		doc.Relationships = append(doc.Relationships, spdxRelationship{imageID, "CONTAINS", id})
	}
	for _, l := range sortedKeys(refs) {
		name := strings.TrimPrefix(l, "LicenseRef-")
		doc.Extracted = append(doc.Extracted, spdxExtracted{LicenseID: l, Name: name,
			ExtractedText: "The Debian copyright file names the licence " + name + "; see the package's /usr/share/doc/*/copyright."})
	}
	return marshal(doc)
}

// spdxIDPart keeps the characters an SPDX ID may hold ([A-Za-z0-9.-]).
func spdxIDPart(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-') {
			b[i] = '-'
		}
	}
	return string(b)
}

func marshal(v any) ([]byte, error) {
	out, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(out, '\n'), nil
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
