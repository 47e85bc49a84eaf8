package manifest

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"

	digest "github.com/opencontainers/go-digest"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// parseDescriptor reads and checks one content descriptor. path names it in
// errors, e.g. "layers[2]". Members other than the ones the image spec
// defines are ignored, as the spec requires of unknown properties.
func parseDescriptor(raw json.RawMessage, path string) (v1.Descriptor, error) {
	var d v1.Descriptor
	obj, err := decodeObject(raw)
	if err != nil {
		return d, fmt.Errorf("%s %v", path, err)
	}

	// The image spec makes mediaType REQUIRED on every descriptor, and the
	// registry needs it to serve children and referrers with a type.
	if d.MediaType, err = obj.stringMember("mediaType", path+".mediaType"); err != nil {
		return d, err
	}
	if d.MediaType == "" {
		return d, fmt.Errorf("%s.mediaType: is required", path)
	}

	dgst, err := obj.stringMember("digest", path+".digest")
	if err != nil {
		return d, err
	}
	if dgst == "" {
		return d, fmt.Errorf("%s.digest: is required", path)
	}
	d.Digest = digest.Digest(dgst)
	// Validate also checks the algorithm is available, which is what makes
	// Algorithm().FromBytes below safe from its panic.
	if err := d.Digest.Validate(); err != nil {
		return d, fmt.Errorf("%s.digest: %w", path, err)
	}

	if isNull(obj["size"]) {
		return d, fmt.Errorf("%s.size: is required", path)
	}
	if err := json.Unmarshal(obj["size"], &d.Size); err != nil || d.Size < 0 {
		return d, fmt.Errorf("%s.size: must be a non-negative integer, got %s", path, clip(obj["size"]))
	}

	if d.ArtifactType, err = obj.stringMember("artifactType", path+".artifactType"); err != nil {
		return d, err
	}
	if d.Annotations, err = obj.stringMap("annotations", path+".annotations"); err != nil {
		return d, err
	}
	if d.URLs, err = parseURLs(obj, path); err != nil {
		return d, err
	}
	if raw := obj["platform"]; !isNull(raw) {
		var p v1.Platform
		if err := json.Unmarshal(raw, &p); err != nil {
			return d, fmt.Errorf("%s.platform: %v", path, err)
		}
		d.Platform = &p
	}
	if raw := obj["data"]; !isNull(raw) {
		// encoding/json reads []byte as standard base64, which is what the
		// image spec prescribes for data.
		var data []byte
		if err := json.Unmarshal(raw, &data); err != nil {
			return d, fmt.Errorf("%s.data: must be a base64 string", path)
		}
		if data == nil {
			data = []byte{} // present but empty still means "content is inline"
		}
		if int64(len(data)) != d.Size {
			return d, fmt.Errorf("%s.data: holds %d bytes but size is %d", path, len(data), d.Size)
		}
		if got := d.Digest.Algorithm().FromBytes(data); got != d.Digest {
			return d, fmt.Errorf("%s.data: content has digest %s, not %s", path, got, d.Digest)
		}
		d.Data = data
	}
	return d, nil
}

// parseURLs reads the optional urls member: the places a foreign layer is
// fetched from. The image spec wants each to be an RFC 3986 URI; we require
// an absolute one, since a relative URL is meaningless outside a registry.
func parseURLs(obj object, path string) ([]string, error) {
	elems, err := obj.array("urls", path+".urls")
	if err != nil {
		return nil, err
	}
	if len(elems) == 0 {
		return nil, nil
	}
	urls := make([]string, len(elems))
	for i, raw := range elems {
		p := fmt.Sprintf("%s.urls[%d]", path, i)
		if err := json.Unmarshal(raw, &urls[i]); err != nil {
			return nil, fmt.Errorf("%s: must be a string", p)
		}
		u, err := url.Parse(urls[i])
		if err != nil || !u.IsAbs() {
			return nil, fmt.Errorf("%s: %q is not an absolute URL", p, urls[i])
		}
	}
	return urls, nil
}

// RequiresBlob reports whether the registry must hold the content of d as a
// blob before it accepts a manifest that references it. It does not for
// non-distributable (foreign) layers, whose content lives at their urls
// or is not to be redistributed at all, nor for descriptors whose content is
// embedded in data (Parse has already checked it against size and digest).
func RequiresBlob(d v1.Descriptor) bool {
	mt := strings.ToLower(d.MediaType)
	if strings.Contains(mt, "nondistributable") || strings.Contains(mt, "foreign") {
		return false
	}
	return len(d.URLs) == 0 && d.Data == nil
}

// clip quotes a raw JSON value for an error message, cut to a sane length.
func clip(raw json.RawMessage) string {
	const max = 40
	s := string(raw)
	if len(s) > max {
		s = s[:max] + "..."
	}
	return s
}
