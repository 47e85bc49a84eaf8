package sbom

import (
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Meta is what a rendered document says about its making.
type Meta struct {
	// Tool is berth's version ("dev" if empty).
	Tool string
	// Time is the document's timestamp; zero: the image's created time
	// (berth writes SOURCE_DATE_EPOCH there), so a rebuild of the same
	// image gives the same bytes.
	Time time.Time
}

func (m Meta) tool() string {
	if m.Tool == "" {
		return "dev"
	}
	return m.Tool
}

func (m Meta) time(inv *Inventory) string {
	t := m.Time
	if t.IsZero() {
		t = inv.Created
	}
	return t.UTC().Format(time.RFC3339)
}

// berthNamespace is the UUID namespace of berth's document IDs (a v5 UUID
// of the URL namespace and "https://berth.dev/sbom").
var berthNamespace = uuid.NewSHA1(uuid.NameSpaceURL, []byte("https://berth.dev/sbom"))

// DocumentUUID is a name-based (v5) UUID of the image digest and the
// document kind: the same image always gets the same SPDX namespace and
// CycloneDX serial number, and different images different ones.
func DocumentUUID(digest, kind string) string {
	return uuid.NewSHA1(berthNamespace, []byte(kind+"\x00"+digest)).String()
}

// OCIPURL is the package URL of the image: pkg:oci/NAME@sha256%3AHEX
// (NAME is the last segment of the repository).
func OCIPURL(inv *Inventory) string {
	name := inv.Name
	if i := strings.LastIndexAny(name, "@"); i >= 0 {
		name = name[:i]
	}
	if i := strings.LastIndexByte(name, '/'); i >= 0 {
		name = name[i+1:]
	}
	if i := strings.LastIndexByte(name, ':'); i >= 0 {
		name = name[:i]
	}
	if name == "" {
		name = "image"
	}
	return "pkg:oci/" + url.PathEscape(strings.ToLower(name)) + "@" + url.QueryEscape(inv.Digest)
}
