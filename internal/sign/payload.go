package sign

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// simplesigning is cosign's legacy signed payload
// (application/vnd.dev.cosign.simplesigning.v1+json).
type simplesigning struct {
	Critical struct {
		Identity struct {
			DockerReference string `json:"docker-reference"`
		} `json:"identity"`
		Image struct {
			DockerManifestDigest string `json:"docker-manifest-digest"`
		} `json:"image"`
		Type string `json:"type"`
	} `json:"critical"`
	Optional map[string]any `json:"optional"` // null when empty, as cosign writes it
}

const simplesigningType = "cosign container image signature"

// MaxPayload bounds a signed payload, bundle or envelope read from a
// registry.
const MaxPayload = 16 << 20

// newSimplesigning returns the payload signing digest of repo, with
// annotations in optional.
func newSimplesigning(repo, digest string, annotations map[string]string) ([]byte, error) {
	var p simplesigning
	p.Critical.Identity.DockerReference = repo
	p.Critical.Image.DockerManifestDigest = digest
	p.Critical.Type = simplesigningType
	if len(annotations) > 0 {
		p.Optional = map[string]any{}
		for k, v := range annotations {
			p.Optional[k] = v
		}
	}
	return json.Marshal(p)
}

// ParseSimplesigning decodes a legacy payload and checks its type; it
// returns the claimed digest and the optional annotations.
func ParseSimplesigning(b []byte) (digest string, optional map[string]any, err error) {
	if len(b) > MaxPayload {
		return "", nil, fmt.Errorf("payload of %d bytes is too large", len(b))
	}
	var p simplesigning
	if err := json.Unmarshal(b, &p); err != nil {
		return "", nil, fmt.Errorf("simplesigning payload: %v", err)
	}
	if p.Critical.Type != simplesigningType {
		return "", nil, fmt.Errorf("simplesigning payload: critical.type %q, want %q", p.Critical.Type, simplesigningType)
	}
	d := p.Critical.Image.DockerManifestDigest
	if d == "" {
		return "", nil, errors.New("simplesigning payload: critical.image.docker-manifest-digest is empty")
	}
	return strings.ToLower(d), p.Optional, nil
}
