// Package manifest parses and checks the manifests a client pushes: OCI
// image manifests and indexes and Docker schema2 manifests and manifest
// lists. It is pure logic: whether the blobs and children exist is the
// caller's business, and so is the body size limit.
package manifest

import (
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"strings"

	// go-digest accepts only algorithms whose hash is linked into the
	// binary; these make sha256 and sha512 (and sha384) digests valid.
	_ "crypto/sha256"
	_ "crypto/sha512"

	v1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// Manifest media types the registry accepts.
const (
	MediaTypeOCIManifest         = "application/vnd.oci.image.manifest.v1+json"
	MediaTypeOCIIndex            = "application/vnd.oci.image.index.v1+json"
	MediaTypeDockerManifest      = "application/vnd.docker.distribution.manifest.v2+json"
	MediaTypeDockerManifestList  = "application/vnd.docker.distribution.manifest.list.v2+json"
	MediaTypeDockerSchema1       = "application/vnd.docker.distribution.manifest.v1+json"
	MediaTypeDockerSchema1Signed = "application/vnd.docker.distribution.manifest.v1+prettyjws"
)

// Config media types with a meaning here.
const (
	MediaTypeOCIImageConfig = "application/vnd.oci.image.config.v1+json"
	MediaTypeEmptyJSON      = "application/vnd.oci.empty.v1+json"
)

// ErrSchema1 is returned for Docker schema1 manifests, which were deprecated
// in 2017 and need signature handling we do not carry.
var ErrSchema1 = errors.New("docker manifest schema1 is not supported: push schema2 or OCI")

// Parsed is what the registry needs from a manifest. Fields a media type
// does not define stay empty.
type Parsed struct {
	// MediaType is the effective media type: one of the four accepted types.
	MediaType string
	// ArtifactType is the manifest's own artifactType field, verbatim
	// (OCI types only). ReferrerArtifactType derives what referrers report.
	ArtifactType string
	// Config is set for image manifests.
	Config *v1.Descriptor
	// Layers of an image manifest; may be empty.
	Layers []v1.Descriptor
	// Manifests are the children of an index or manifest list; may be empty.
	Manifests []v1.Descriptor
	// Subject is the manifest this one refers to (OCI types only).
	Subject *v1.Descriptor
	// Annotations of the manifest itself (OCI types only).
	Annotations map[string]string
}

// IsIndex reports whether p lists other manifests rather than blobs.
func (p *Parsed) IsIndex() bool {
	return p.MediaType == MediaTypeOCIIndex || p.MediaType == MediaTypeDockerManifestList
}

// Blobs lists the blobs an image manifest references: its config, then its
// layers; nil for an index. It lists all of them, as garbage collection must
// keep them all; before accepting a push, check existence only of those for
// which RequiresBlob is true.
func (p *Parsed) Blobs() []v1.Descriptor {
	if p.Config == nil {
		return append([]v1.Descriptor(nil), p.Layers...)
	}
	return append([]v1.Descriptor{*p.Config}, p.Layers...)
}

// ReferrerArtifactType is the artifactType the referrers API reports for p:
// its artifactType field if set, else, for an image manifest, its config's
// media type; an index without artifactType has none (distribution-spec
// "Listing Referrers").
func ReferrerArtifactType(p *Parsed) string {
	if p.ArtifactType != "" {
		return p.ArtifactType
	}
	if !p.IsIndex() && p.Config != nil {
		return p.Config.MediaType
	}
	return ""
}

// Parse reads and checks a manifest pushed with the given Content-Type.
//
// The effective media type is the body's mediaType member if present, else
// the Content-Type (parameters stripped), else what the shape says
// ("manifests" means an OCI index, "config" or "layers" an OCI manifest).
// A Content-Type that names no manifest type in particular (empty,
// application/json, application/octet-stream) counts as absent, since some
// tools send those. Every descriptor is checked; unknown members are
// tolerated. Errors name the offending member, e.g.
// "layers[2].digest: invalid checksum digest format".
func Parse(contentType string, body []byte) (*Parsed, error) {
	obj, err := decodeObject(body)
	if err != nil {
		return nil, fmt.Errorf("manifest %v", err)
	}
	mediaType, err := effectiveMediaType(contentType, obj)
	if err != nil {
		return nil, err
	}
	if err := checkSchemaVersion(obj); err != nil {
		return nil, err
	}

	p := &Parsed{MediaType: mediaType}
	oci := mediaType == MediaTypeOCIManifest || mediaType == MediaTypeOCIIndex
	if p.IsIndex() {
		err = parseIndex(obj, p)
	} else {
		err = parseImage(obj, p)
	}
	if err != nil {
		return nil, err
	}
	// subject, artifactType and annotations are OCI members; in a Docker
	// manifest they are unknown members, tolerated and ignored.
	if oci {
		if err := parseOCIMembers(obj, p); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// effectiveMediaType decides which kind of manifest body is.
func effectiveMediaType(contentType string, obj object) (string, error) {
	bodyType, err := obj.stringMember("mediaType", "mediaType")
	if err != nil {
		return "", err
	}
	headerType := normalizeContentType(contentType)

	if bodyType != "" {
		if isSchema1(bodyType) {
			return "", ErrSchema1
		}
		if isKnown(headerType) && headerType != bodyType {
			return "", fmt.Errorf("mediaType: %q does not match the Content-Type %q", bodyType, headerType)
		}
		if !isKnown(bodyType) {
			return "", fmt.Errorf("mediaType: unsupported manifest media type %q", bodyType)
		}
		return bodyType, nil
	}

	if headerType != "" {
		if isSchema1(headerType) {
			return "", ErrSchema1
		}
		if !isKnown(headerType) {
			return "", fmt.Errorf("unsupported manifest media type %q in the Content-Type", headerType)
		}
		return headerType, nil
	}

	// Neither says: go by shape. schema1 carries schemaVersion 1 and
	// fsLayers and never a mediaType, so refuse it by name rather than
	// with a puzzling schemaVersion error.
	if _, ok := obj["fsLayers"]; ok {
		return "", ErrSchema1
	}
	if v, ok := schemaVersion(obj); ok && v == 1 {
		return "", ErrSchema1
	}
	if _, ok := obj["manifests"]; ok {
		return MediaTypeOCIIndex, nil
	}
	_, hasConfig := obj["config"]
	_, hasLayers := obj["layers"]
	if hasConfig || hasLayers {
		return MediaTypeOCIManifest, nil
	}
	return "", errors.New("mediaType: missing, and neither the Content-Type nor the content (no manifests, config or layers) tells the manifest type")
}

// normalizeContentType returns the lowercased media type of a Content-Type
// header without parameters, or "" when the header names no specific type.
func normalizeContentType(contentType string) string {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		// Malformed parameters should not hide a usable type.
		mt, _, _ = strings.Cut(contentType, ";")
		mt = strings.ToLower(strings.TrimSpace(mt))
	}
	switch mt {
	case "application/json", "application/octet-stream", "text/plain", "*/*":
		return ""
	}
	return mt
}

func isKnown(mt string) bool {
	switch mt {
	case MediaTypeOCIManifest, MediaTypeOCIIndex, MediaTypeDockerManifest, MediaTypeDockerManifestList:
		return true
	}
	return isSchema1(mt)
}

func isSchema1(mt string) bool {
	return mt == MediaTypeDockerSchema1 || mt == MediaTypeDockerSchema1Signed
}

// schemaVersion reads schemaVersion when it is an integer.
func schemaVersion(obj object) (int64, bool) {
	raw := obj["schemaVersion"]
	if isNull(raw) {
		return 0, false
	}
	var v int64
	if err := json.Unmarshal(raw, &v); err != nil {
		return 0, false
	}
	return v, true
}

func checkSchemaVersion(obj object) error {
	if isNull(obj["schemaVersion"]) {
		return errors.New("schemaVersion: is required and must be 2")
	}
	v, ok := schemaVersion(obj)
	if !ok {
		return fmt.Errorf("schemaVersion: must be the integer 2, got %s", clip(obj["schemaVersion"]))
	}
	if v != 2 {
		return fmt.Errorf("schemaVersion: must be 2, got %d", v)
	}
	return nil
}

// parseImage reads the config and layers of an image manifest.
func parseImage(obj object, p *Parsed) error {
	// A document with both an index's and a manifest's members could be
	// read as either by clients that go by shape (CVE-2021-41190); the
	// image spec since 1.0.2 says to refuse it.
	if _, ok := obj["manifests"]; ok {
		return fmt.Errorf("manifests: not allowed in an image manifest (%s)", p.MediaType)
	}
	// Artifacts without a config use the empty descriptor
	// (application/vnd.oci.empty.v1+json); the member is still required.
	if isNull(obj["config"]) {
		return errors.New("config: is required in an image manifest")
	}
	cfg, err := parseDescriptor(obj["config"], "config")
	if err != nil {
		return err
	}
	p.Config = &cfg
	layers, err := parseDescriptors(obj, "layers")
	if err != nil {
		return err
	}
	p.Layers = layers
	return nil
}

// parseIndex reads the children of an index or manifest list. Children
// may be of any type, indexes included; their existence is not checked
// here, so sparse indexes are fine.
func parseIndex(obj object, p *Parsed) error {
	for _, name := range []string{"config", "layers"} {
		if _, ok := obj[name]; ok {
			return fmt.Errorf("%s: not allowed in an index (%s)", name, p.MediaType)
		}
	}
	// Go's encoding/json writes a nil slice as null, so tools built on the
	// image-spec types send "manifests": null for an empty index. Only a
	// missing member is an error.
	if _, ok := obj["manifests"]; !ok {
		return errors.New("manifests: is required in an index")
	}
	children, err := parseDescriptors(obj, "manifests")
	if err != nil {
		return err
	}
	p.Manifests = children
	return nil
}

// parseDescriptors reads an optional array of descriptors.
func parseDescriptors(obj object, name string) ([]v1.Descriptor, error) {
	elems, err := obj.array(name, name)
	if err != nil {
		return nil, err
	}
	if len(elems) == 0 {
		return nil, nil
	}
	out := make([]v1.Descriptor, len(elems))
	for i, raw := range elems {
		if out[i], err = parseDescriptor(raw, fmt.Sprintf("%s[%d]", name, i)); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// parseOCIMembers reads the members OCI adds to both manifests and indexes.
func parseOCIMembers(obj object, p *Parsed) error {
	var err error
	if p.ArtifactType, err = obj.stringMember("artifactType", "artifactType"); err != nil {
		return err
	}
	if p.Annotations, err = obj.stringMap("annotations", "annotations"); err != nil {
		return err
	}
	if raw := obj["subject"]; !isNull(raw) {
		subject, err := parseDescriptor(raw, "subject")
		if err != nil {
			return err
		}
		p.Subject = &subject
	}
	return nil
}
