package manifest

import (
	"errors"
	"strings"
	"testing"

	digest "github.com/opencontainers/go-digest"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// Digests of real content (sha256 of "config", "layer1", ...), so that the
// fixtures look like what clients push.
const (
	dConfig       = "sha256:b79606fb3afea5bd1609ed40b622142f1c98125abcfe89a76a661b0e8e343910"
	dLayer1       = "sha256:77ea7eee3d80b1a38f83906dd3048e2689457eb90e18a7d12f839c5ae37106a2"
	dLayer2       = "sha256:95cf1a2e1698fe3ca1fcc3f653119146b271d0b62e487ec264441e886a11bd06"
	dChild1       = "sha256:c56d62f1e317670d153efd4673f39b7141249845c6d885f974aca96ae66858c0"
	dChild2       = "sha256:2c7c4f92b804280c22e7c3c6386322f12f16296942fd7a3b450c2eed107aa5ab"
	dSubject      = "sha256:a9491f4c1bf7b0cffbadcba2db8f028e4b3f2867cb59e1f3a0bc1968f3c51242"
	dConfigSHA512 = "sha512:9fcffe1acb716f176ca73cbb1cfea77b1b9c8d904171efa19b2471e293149194010fd3ca56a3b9374d19fbd441854dd92d06563b4d7a14a8a566fb76e359847f"
	dHello        = "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
	dHelloSHA512  = "sha512:9b71d224bd62f3785d96d46ad3ea3d73319bfbc2890caadae2dff72519673ca72323c3d99ba5c11d7c7acc6e14b8c5da0c4663475c2e5c3adef46f73bcdec043"
	dEmpty        = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	dEmptyJSON    = "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
)

// fixture fills @name placeholders with the digests above.
func fixture(s string) []byte {
	return []byte(strings.NewReplacer(
		"@configSHA512", dConfigSHA512,
		"@config", dConfig,
		"@layer1", dLayer1,
		"@layer2", dLayer2,
		"@child1", dChild1,
		"@child2", dChild2,
		"@subject", dSubject,
		"@helloSHA512", dHelloSHA512,
		"@hello", dHello,
		"@emptyJSON", dEmptyJSON,
		"@empty", dEmpty,
	).Replace(s))
}

// Manifests in the shapes real clients push.
var (
	// docker buildx / containerd pushing an OCI image.
	ociImage = `{
  "schemaVersion": 2,
  "mediaType": "application/vnd.oci.image.manifest.v1+json",
  "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": "@config", "size": 1469},
  "layers": [
    {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": "@layer1", "size": 3370706},
    {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": "@layer2", "size": 93}
  ],
  "annotations": {"org.opencontainers.image.created": "2024-05-01T00:00:00Z"}
}`
	// docker classic push.
	dockerImage = `{
   "schemaVersion": 2,
   "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
   "config": {
      "mediaType": "application/vnd.docker.container.image.v1+json",
      "size": 7023,
      "digest": "@config"
   },
   "layers": [
      {
         "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
         "size": 32654,
         "digest": "@layer1"
      }
   ]
}`
	// docker buildx multi-platform push with an attestation manifest.
	ociIndex = `{
  "schemaVersion": 2,
  "mediaType": "application/vnd.oci.image.index.v1+json",
  "manifests": [
    {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": "@child1", "size": 1234,
     "platform": {"architecture": "amd64", "os": "linux"}},
    {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": "@child2", "size": 566,
     "platform": {"architecture": "unknown", "os": "unknown"},
     "annotations": {"vnd.docker.reference.digest": "@child1", "vnd.docker.reference.type": "attestation-manifest"}}
  ]
}`
	dockerList = `{
  "schemaVersion": 2,
  "mediaType": "application/vnd.docker.distribution.manifest.list.v2+json",
  "manifests": [
    {"mediaType": "application/vnd.docker.distribution.manifest.v2+json", "size": 7143, "digest": "@child1",
     "platform": {"architecture": "ppc64le", "os": "linux"}},
    {"mediaType": "application/vnd.docker.distribution.manifest.v2+json", "size": 7682, "digest": "@child2",
     "platform": {"architecture": "arm", "os": "linux", "variant": "v7", "features": ["sse4"]}}
  ]
}`
	// oras attaching an SBOM: artifact with the empty config and a subject.
	ociArtifact = `{
  "schemaVersion": 2,
  "mediaType": "application/vnd.oci.image.manifest.v1+json",
  "artifactType": "application/spdx+json",
  "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": "@emptyJSON", "size": 2, "data": "e30="},
  "layers": [{"mediaType": "application/spdx+json", "digest": "@hello", "size": 5,
              "annotations": {"org.opencontainers.image.title": "sbom.spdx.json"}}],
  "subject": {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": "@subject", "size": 1024},
  "annotations": {"org.opencontainers.image.created": "2024-05-01T00:00:00Z"}
}`
	// cosign-style signature: artifact config type, no artifactType.
	ociSignature = `{
  "schemaVersion": 2,
  "mediaType": "application/vnd.oci.image.manifest.v1+json",
  "config": {"mediaType": "application/vnd.dev.cosign.artifact.sig.v1+json", "digest": "@config", "size": 233},
  "layers": [],
  "subject": {"mediaType": "application/vnd.oci.image.index.v1+json", "digest": "@subject", "size": 1024}
}`
	// Helm chart: custom config, no artifactType, no mediaType member in
	// older helm releases (the Content-Type says it).
	helmChart = `{
  "schemaVersion": 2,
  "config": {"mediaType": "application/vnd.cncf.helm.config.v1+json", "digest": "@config", "size": 117},
  "layers": [{"mediaType": "application/vnd.cncf.helm.chart.content.v1.tar.gz", "digest": "@layer1", "size": 3591}]
}`
	// Windows image with a foreign layer and an OCI non-distributable one.
	foreignLayers = `{
  "schemaVersion": 2,
  "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
  "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 1720, "digest": "@config"},
  "layers": [
    {"mediaType": "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip", "size": 1536029431, "digest": "@layer1",
     "urls": ["https://mcr.microsoft.com/v2/windows/servercore/blobs/@layer1"]},
    {"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": 1023, "digest": "@layer2"}
  ]
}`
	ociNondistributable = `{
  "schemaVersion": 2,
  "mediaType": "application/vnd.oci.image.manifest.v1+json",
  "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": "@config", "size": 1469},
  "layers": [
    {"mediaType": "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip", "digest": "@layer1", "size": 12345,
     "urls": ["https://store.example.com/blobs/sha256/abc"]},
    {"mediaType": "application/vnd.oci.image.layer.nondistributable.v1.tar", "digest": "@layer2", "size": 12345},
    {"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": "@hello", "size": 5}
  ]
}`
	sha512Image = `{
  "schemaVersion": 2,
  "mediaType": "application/vnd.oci.image.manifest.v1+json",
  "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": "@configSHA512", "size": 6},
  "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": "@helloSHA512", "size": 5, "data": "aGVsbG8="}],
  "subject": {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": "@helloSHA512", "size": 5}
}`
	// The conformance suite's "custom fields": unknown members everywhere.
	customFields = `{
  "schemaVersion": 2,
  "mediaType": "application/vnd.oci.image.index.v1+json",
  "org.example.custom": "QWERTY",
  "org.example.nested": {"a": [1, 2, {"b": null}], "mediaType": 5},
  "manifests": [
    {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": "@child1", "size": 1, "org.example.x": true,
     "platform": {"architecture": "amd64", "os": "linux", "org.example.y": 1}}
  ]
}`
	emptyIndex = `{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": []}`
	// What json.Marshal(v1.Index{...}) writes for an empty list.
	nullIndex   = `{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": null}`
	nestedIndex = `{
  "schemaVersion": 2,
  "mediaType": "application/vnd.oci.image.index.v1+json",
  "artifactType": "application/vnd.example.bundle",
  "manifests": [
    {"mediaType": "application/vnd.oci.image.index.v1+json", "digest": "@child1", "size": 311},
    {"mediaType": "application/vnd.docker.distribution.manifest.list.v2+json", "digest": "@child2", "size": 412},
    {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": "@layer1", "size": 503}
  ],
  "subject": {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": "@subject", "size": 9}
}`
	schema1 = `{
   "name": "hello-world",
   "tag": "latest",
   "architecture": "amd64",
   "fsLayers": [{"blobSum": "@layer1"}],
   "history": [{"v1Compatibility": "{}"}],
   "schemaVersion": 1,
   "signatures": []
}`
)

// allFixtures are the valid manifests, with the Content-Type pushed.
var allFixtures = []struct {
	name, contentType, body string
}{
	{"oci image", MediaTypeOCIManifest, ociImage},
	{"docker image", MediaTypeDockerManifest, dockerImage},
	{"oci index", MediaTypeOCIIndex, ociIndex},
	{"docker list", MediaTypeDockerManifestList, dockerList},
	{"oci artifact", MediaTypeOCIManifest, ociArtifact},
	{"oci signature", MediaTypeOCIManifest, ociSignature},
	{"helm chart", MediaTypeOCIManifest, helmChart},
	{"foreign layers", MediaTypeDockerManifest, foreignLayers},
	{"oci nondistributable", MediaTypeOCIManifest, ociNondistributable},
	{"sha512", MediaTypeOCIManifest, sha512Image},
	{"custom fields", MediaTypeOCIIndex, customFields},
	{"empty index", MediaTypeOCIIndex, emptyIndex},
	{"null index", MediaTypeOCIIndex, nullIndex},
	{"nested index", MediaTypeOCIIndex, nestedIndex},
}

func mustParse(t *testing.T, contentType, body string) *Parsed {
	t.Helper()
	p, err := Parse(contentType, fixture(body))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return p
}

// parseErr parses and requires an error that mentions every one of want.
func parseErr(t *testing.T, contentType, body string, want ...string) error {
	t.Helper()
	p, err := Parse(contentType, fixture(body))
	if err == nil {
		t.Fatalf("Parse succeeded with %+v, want an error mentioning %q", p, want)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Fatalf("error %q does not mention %q", err, w)
		}
	}
	return err
}

func TestAllFixturesParse(t *testing.T) {
	for _, f := range allFixtures {
		t.Run(f.name, func(t *testing.T) {
			p := mustParse(t, f.contentType, f.body)
			if p.MediaType != f.contentType {
				t.Errorf("MediaType = %q, want %q", p.MediaType, f.contentType)
			}
		})
	}
}

func TestOCIImage(t *testing.T) {
	p := mustParse(t, MediaTypeOCIManifest, ociImage)
	if p.IsIndex() {
		t.Error("IsIndex = true")
	}
	if p.Config == nil || p.Config.Digest != dConfig || p.Config.Size != 1469 || p.Config.MediaType != MediaTypeOCIImageConfig {
		t.Errorf("Config = %+v", p.Config)
	}
	if len(p.Layers) != 2 || p.Layers[0].Digest != dLayer1 || p.Layers[1].Size != 93 {
		t.Errorf("Layers = %+v", p.Layers)
	}
	if p.Annotations["org.opencontainers.image.created"] != "2024-05-01T00:00:00Z" {
		t.Errorf("Annotations = %v", p.Annotations)
	}
	blobs := p.Blobs()
	if len(blobs) != 3 || blobs[0].Digest != dConfig || blobs[1].Digest != dLayer1 || blobs[2].Digest != dLayer2 {
		t.Errorf("Blobs = %+v", blobs)
	}
	for _, b := range blobs {
		if !RequiresBlob(b) {
			t.Errorf("RequiresBlob(%s) = false", b.Digest)
		}
	}
	if p.Subject != nil || p.ArtifactType != "" || p.Manifests != nil {
		t.Errorf("unexpected members: %+v", p)
	}
	if got := ReferrerArtifactType(p); got != MediaTypeOCIImageConfig {
		t.Errorf("ReferrerArtifactType = %q, want the config media type", got)
	}
}

func TestDockerImage(t *testing.T) {
	p := mustParse(t, MediaTypeDockerManifest, dockerImage)
	if p.IsIndex() || p.Config.MediaType != "application/vnd.docker.container.image.v1+json" || len(p.Layers) != 1 {
		t.Errorf("parsed %+v", p)
	}
}

func TestIndexes(t *testing.T) {
	for _, tt := range []struct {
		mediaType, body string
	}{{MediaTypeOCIIndex, ociIndex}, {MediaTypeDockerManifestList, dockerList}} {
		p := mustParse(t, tt.mediaType, tt.body)
		if !p.IsIndex() {
			t.Errorf("%s: IsIndex = false", tt.mediaType)
		}
		if len(p.Manifests) != 2 || p.Manifests[0].Digest != dChild1 || p.Manifests[1].Digest != dChild2 {
			t.Errorf("%s: Manifests = %+v", tt.mediaType, p.Manifests)
		}
		if p.Manifests[0].Platform == nil || p.Manifests[0].Platform.OS != "linux" {
			t.Errorf("%s: platform = %+v", tt.mediaType, p.Manifests[0].Platform)
		}
		if p.Config != nil || p.Layers != nil || p.Blobs() != nil {
			t.Errorf("%s: index has blobs: %+v", tt.mediaType, p)
		}
		if got := ReferrerArtifactType(p); got != "" {
			t.Errorf("%s: ReferrerArtifactType = %q, want none", tt.mediaType, got)
		}
	}
	p := mustParse(t, MediaTypeOCIIndex, ociIndex)
	if p.Manifests[1].Annotations["vnd.docker.reference.type"] != "attestation-manifest" {
		t.Errorf("child annotations = %v", p.Manifests[1].Annotations)
	}
	if p.Manifests[1].Platform.Architecture != "unknown" {
		t.Errorf("attestation platform = %+v", p.Manifests[1].Platform)
	}
}

func TestEmptyAndNestedIndex(t *testing.T) {
	for _, body := range []string{emptyIndex, nullIndex} {
		p := mustParse(t, "", body)
		if !p.IsIndex() || len(p.Manifests) != 0 {
			t.Errorf("empty index parsed as %+v", p)
		}
	}
	p := mustParse(t, MediaTypeOCIIndex, nestedIndex)
	if len(p.Manifests) != 3 || p.Manifests[0].MediaType != MediaTypeOCIIndex ||
		p.Manifests[1].MediaType != MediaTypeDockerManifestList {
		t.Errorf("nested children = %+v", p.Manifests)
	}
	if p.ArtifactType != "application/vnd.example.bundle" || ReferrerArtifactType(p) != "application/vnd.example.bundle" {
		t.Errorf("index artifactType = %q", p.ArtifactType)
	}
	if p.Subject == nil || p.Subject.Digest != dSubject {
		t.Errorf("index subject = %+v", p.Subject)
	}
	parseErr(t, MediaTypeOCIIndex, `{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json"}`,
		"manifests: is required")
}

func TestArtifactAndSubject(t *testing.T) {
	p := mustParse(t, MediaTypeOCIManifest, ociArtifact)
	if p.ArtifactType != "application/spdx+json" || ReferrerArtifactType(p) != "application/spdx+json" {
		t.Errorf("ArtifactType = %q, referrer %q", p.ArtifactType, ReferrerArtifactType(p))
	}
	if p.Subject == nil || p.Subject.Digest != dSubject || p.Subject.Size != 1024 || p.Subject.MediaType != MediaTypeOCIManifest {
		t.Errorf("Subject = %+v", p.Subject)
	}
	if p.Config.MediaType != MediaTypeEmptyJSON || string(p.Config.Data) != "{}" {
		t.Errorf("empty config = %+v", p.Config)
	}

	sig := mustParse(t, MediaTypeOCIManifest, ociSignature)
	if sig.ArtifactType != "" {
		t.Errorf("literal ArtifactType = %q, want empty", sig.ArtifactType)
	}
	if got := ReferrerArtifactType(sig); got != "application/vnd.dev.cosign.artifact.sig.v1+json" {
		t.Errorf("ReferrerArtifactType = %q, want the config media type", got)
	}
	if len(sig.Layers) != 0 || sig.Subject.MediaType != MediaTypeOCIIndex {
		t.Errorf("signature parsed as %+v", sig)
	}

	parseErr(t, MediaTypeOCIManifest, strings.Replace(ociArtifact, `"size": 1024}`, `"size": -1}`, 1), "subject.size")
	parseErr(t, MediaTypeOCIManifest, strings.Replace(ociArtifact, `"digest": "@subject"`, `"digest": "sha256:nope"`, 1), "subject.digest")
	parseErr(t, MediaTypeOCIManifest, strings.Replace(ociArtifact, `"artifactType": "application/spdx+json"`, `"artifactType": 7`, 1), "artifactType: must be a string")
}

// subject, artifactType and annotations are OCI members; a Docker manifest
// that carries them has unknown members, which are ignored.
func TestDockerIgnoresOCIMembers(t *testing.T) {
	body := strings.Replace(dockerImage, `"schemaVersion": 2,`,
		`"schemaVersion": 2, "subject": {"bogus": true}, "artifactType": 5, "annotations": [],`, 1)
	p := mustParse(t, "", body)
	if p.Subject != nil || p.ArtifactType != "" || p.Annotations != nil {
		t.Errorf("docker manifest picked up OCI members: %+v", p)
	}
}

func TestMediaTypeResolution(t *testing.T) {
	noMediaType := strings.Replace(ociImage, `"mediaType": "application/vnd.oci.image.manifest.v1+json",`, "", 1)
	noMediaTypeIndex := strings.Replace(ociIndex, `"mediaType": "application/vnd.oci.image.index.v1+json",`, "", 1)
	tests := []struct {
		name, contentType, body, want string
	}{
		{"body wins over generic content type", "application/json", ociImage, MediaTypeOCIManifest},
		{"content type with parameters", MediaTypeOCIManifest + "; charset=utf-8", ociImage, MediaTypeOCIManifest},
		{"content type in upper case", strings.ToUpper(MediaTypeOCIManifest), ociImage, MediaTypeOCIManifest},
		{"body and no content type", "", dockerList, MediaTypeDockerManifestList},
		{"content type when body has none", MediaTypeOCIManifest, noMediaType, MediaTypeOCIManifest},
		{"docker content type when body has none", MediaTypeDockerManifest, noMediaType, MediaTypeDockerManifest},
		{"helm without mediaType", MediaTypeOCIManifest, helmChart, MediaTypeOCIManifest},
		{"shape: image", "", noMediaType, MediaTypeOCIManifest},
		{"shape: image under octet-stream", "application/octet-stream", noMediaType, MediaTypeOCIManifest},
		{"shape: index", "", noMediaTypeIndex, MediaTypeOCIIndex},
		{"unknown content type ignored when body says", "application/vnd.example+json", ociImage, MediaTypeOCIManifest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := mustParse(t, tt.contentType, tt.body)
			if p.MediaType != tt.want {
				t.Errorf("MediaType = %q, want %q", p.MediaType, tt.want)
			}
		})
	}

	t.Run("mismatch", func(t *testing.T) {
		parseErr(t, MediaTypeOCIIndex, ociImage, "mediaType", MediaTypeOCIManifest, MediaTypeOCIIndex)
		parseErr(t, MediaTypeDockerManifest, ociImage, "does not match the Content-Type")
	})
	t.Run("unknown body media type", func(t *testing.T) {
		body := strings.Replace(ociImage, MediaTypeOCIManifest, "application/vnd.example.manifest+json", 1)
		parseErr(t, "", body, "mediaType: unsupported manifest media type", "application/vnd.example.manifest+json")
	})
	t.Run("unknown content type", func(t *testing.T) {
		parseErr(t, "application/vnd.example+json", noMediaType, "unsupported manifest media type", "application/vnd.example+json")
	})
	t.Run("no clue", func(t *testing.T) {
		parseErr(t, "", `{"schemaVersion": 2}`, "mediaType: missing")
	})
	t.Run("shape with layers but no config", func(t *testing.T) {
		parseErr(t, "", `{"schemaVersion": 2, "layers": []}`, "config: is required")
	})
}

func TestSchema1Refused(t *testing.T) {
	for _, tt := range []struct{ name, contentType, body string }{
		{"content type", MediaTypeDockerSchema1, schema1},
		{"signed content type", MediaTypeDockerSchema1Signed, schema1},
		{"signed content type with parameters", MediaTypeDockerSchema1Signed + "; charset=utf-8", schema1},
		{"shape", "", schema1},
		{"shape under application/json", "application/json", schema1},
		{"schemaVersion 1 alone", "", `{"schemaVersion": 1, "name": "x"}`},
		{"body mediaType", MediaTypeOCIManifest, `{"schemaVersion": 1, "mediaType": "application/vnd.docker.distribution.manifest.v1+prettyjws"}`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := parseErr(t, tt.contentType, tt.body, "schema1 is not supported")
			if !errors.Is(err, ErrSchema1) {
				t.Errorf("error %v is not ErrSchema1", err)
			}
		})
	}
}

func TestSchemaVersion(t *testing.T) {
	for _, tt := range []struct{ from, to, msg string }{
		{`"schemaVersion": 2,`, ``, "schemaVersion: is required"},
		{`"schemaVersion": 2,`, `"schemaVersion": null,`, "schemaVersion: is required"},
		{`"schemaVersion": 2,`, `"schemaVersion": 1,`, "schemaVersion: must be 2, got 1"},
		{`"schemaVersion": 2,`, `"schemaVersion": 3,`, "schemaVersion: must be 2, got 3"},
		{`"schemaVersion": 2,`, `"schemaVersion": "2",`, "schemaVersion: must be the integer 2"},
		{`"schemaVersion": 2,`, `"schemaVersion": 2.5,`, "schemaVersion: must be the integer 2"},
	} {
		parseErr(t, MediaTypeOCIManifest, strings.Replace(ociImage, tt.from, tt.to, 1), tt.msg)
	}
}

func TestBadDigests(t *testing.T) {
	for _, tt := range []struct{ digest, msg string }{
		{"", "layers[1].digest: is required"},
		{"sha256", "layers[1].digest: invalid checksum digest format"},
		{"sha256:", "layers[1].digest: invalid checksum digest format"},
		{":abc", "layers[1].digest: invalid checksum digest format"},
		{"sha256:xyz", "layers[1].digest: invalid checksum digest length"},
		{"sha256:" + strings.Repeat("a", 63), "layers[1].digest: invalid checksum digest length"},
		{"sha256:" + strings.Repeat("A", 64), "layers[1].digest: invalid checksum digest format"},
		{"sha256:" + strings.Repeat("g", 64), "layers[1].digest: invalid checksum digest format"},
		{"sha512:" + strings.Repeat("a", 64), "layers[1].digest: invalid checksum digest length"},
		{"md5:d41d8cd98f00b204e9800998ecf8427e", "layers[1].digest: unsupported digest algorithm"},
		{"sha3-256:" + strings.Repeat("a", 64), "layers[1].digest: unsupported digest algorithm"},
		{"SHA256:" + strings.Repeat("a", 64), "layers[1].digest: invalid checksum digest format"},
	} {
		body := strings.Replace(ociImage, `"digest": "@layer2"`, `"digest": "`+tt.digest+`"`, 1)
		err := parseErr(t, MediaTypeOCIManifest, body, tt.msg)
		if tt.digest != "" && !errors.Is(err, digest.ErrDigestInvalidFormat) &&
			!errors.Is(err, digest.ErrDigestInvalidLength) && !errors.Is(err, digest.ErrDigestUnsupported) {
			t.Errorf("error %v does not wrap a go-digest error", err)
		}
	}
	// A digest that is not a string names the member too.
	parseErr(t, MediaTypeOCIManifest, strings.Replace(ociImage, `"digest": "@config"`, `"digest": 5`, 1), "config.digest: must be a string")
	// Children of an index are checked the same way.
	parseErr(t, MediaTypeOCIIndex, strings.Replace(ociIndex, `"digest": "@child2"`, `"digest": "sha256:bad"`, 1), "manifests[1].digest: invalid checksum digest")
}

func TestSHA512(t *testing.T) {
	p := mustParse(t, MediaTypeOCIManifest, sha512Image)
	if p.Config.Digest.Algorithm() != digest.SHA512 || p.Layers[0].Digest != dHelloSHA512 {
		t.Errorf("parsed %+v", p)
	}
	if string(p.Layers[0].Data) != "hello" || RequiresBlob(p.Layers[0]) {
		t.Errorf("inline sha512 layer = %+v", p.Layers[0])
	}
	if p.Subject.Digest.Algorithm() != digest.SHA512 {
		t.Errorf("subject = %+v", p.Subject)
	}
}

func TestDataField(t *testing.T) {
	image := func(layer string) string {
		return `{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
			"config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": "@config", "size": 6},
			"layers": [` + layer + `]}`
	}
	good := []string{
		`{"mediaType": "text/plain", "digest": "@hello", "size": 5, "data": "aGVsbG8="}`,
		`{"mediaType": "text/plain", "digest": "@empty", "size": 0, "data": ""}`,
	}
	for _, layer := range good {
		p := mustParse(t, "", image(layer))
		if p.Layers[0].Data == nil || RequiresBlob(p.Layers[0]) {
			t.Errorf("%s: Data = %v, RequiresBlob = %v", layer, p.Layers[0].Data, RequiresBlob(p.Layers[0]))
		}
	}
	// null data is no data: the blob must exist.
	p := mustParse(t, "", image(`{"mediaType": "text/plain", "digest": "@hello", "size": 5, "data": null}`))
	if p.Layers[0].Data != nil || !RequiresBlob(p.Layers[0]) {
		t.Errorf("null data: %+v", p.Layers[0])
	}

	bad := []struct{ layer, msg string }{
		{`{"mediaType": "text/plain", "digest": "@hello", "size": 6, "data": "aGVsbG8="}`, "layers[0].data: holds 5 bytes but size is 6"},
		{`{"mediaType": "text/plain", "digest": "@layer1", "size": 5, "data": "aGVsbG8="}`, "layers[0].data: content has digest " + dHello},
		{`{"mediaType": "text/plain", "digest": "@helloSHA512", "size": 5, "data": "aGVsbG9v"}`, "layers[0].data: holds 6 bytes"},
		{`{"mediaType": "text/plain", "digest": "@hello", "size": 5, "data": "not base64!"}`, "layers[0].data: must be a base64 string"},
		{`{"mediaType": "text/plain", "digest": "@hello", "size": 5, "data": 12}`, "layers[0].data: must be a base64 string"},
	}
	for _, tt := range bad {
		parseErr(t, "", image(tt.layer), tt.msg)
	}
	// The config may carry data too (the empty config usually does).
	parseErr(t, "", strings.Replace(ociArtifact, `"data": "e30="`, `"data": "W10="`, 1), "config.data: content has digest")
}

func TestNonDistributable(t *testing.T) {
	p := mustParse(t, MediaTypeOCIManifest, ociNondistributable)
	want := []bool{false, false, true}
	for i, l := range p.Layers {
		if got := RequiresBlob(l); got != want[i] {
			t.Errorf("RequiresBlob(layers[%d] %s) = %v, want %v", i, l.MediaType, got, want[i])
		}
	}
	if len(p.Layers[0].URLs) != 1 {
		t.Errorf("URLs = %v", p.Layers[0].URLs)
	}
	if !RequiresBlob(*p.Config) {
		t.Error("config does not require a blob")
	}

	d := mustParse(t, MediaTypeDockerManifest, foreignLayers)
	if RequiresBlob(d.Layers[0]) || !RequiresBlob(d.Layers[1]) {
		t.Errorf("foreign layer RequiresBlob = %v, regular = %v", RequiresBlob(d.Layers[0]), RequiresBlob(d.Layers[1]))
	}
	// Any layer with urls can be fetched from there.
	if RequiresBlob(v1.Descriptor{MediaType: "application/vnd.oci.image.layer.v1.tar", URLs: []string{"https://x.example/b"}}) {
		t.Error("layer with urls requires a blob")
	}

	parseErr(t, MediaTypeOCIManifest, strings.Replace(ociNondistributable, `"https://store.example.com/blobs/sha256/abc"`, `"/relative/path"`, 1),
		"layers[0].urls[0]", "not an absolute URL")
	parseErr(t, MediaTypeOCIManifest, strings.Replace(ociNondistributable, `"https://store.example.com/blobs/sha256/abc"`, `7`, 1),
		"layers[0].urls[0]: must be a string")
	parseErr(t, MediaTypeOCIManifest, strings.Replace(ociNondistributable, `["https://store.example.com/blobs/sha256/abc"]`, `"https://x"`, 1),
		"layers[0].urls: must be an array")
}

func TestCustomFields(t *testing.T) {
	p := mustParse(t, MediaTypeOCIIndex, customFields)
	if len(p.Manifests) != 1 || p.Manifests[0].Platform.Architecture != "amd64" {
		t.Errorf("parsed %+v", p)
	}
	// Custom members on an image manifest, its config and its layers.
	body := strings.NewReplacer(
		`"schemaVersion": 2,`, `"schemaVersion": 2, "org.example.top": {"deep": [1]},`,
		`"size": 1469}`, `"size": 1469, "org.example.cfg": "x"}`,
		`"size": 93}`, `"size": 93, "org.example.layer": null}`,
	).Replace(ociImage)
	mustParse(t, MediaTypeOCIManifest, body)
}

func TestDescriptorChecks(t *testing.T) {
	for _, tt := range []struct{ from, to, msg string }{
		{`{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": "@layer1", "size": 3370706}`, `{"digest": "@layer1", "size": 3370706}`, "layers[0].mediaType: is required"},
		{`"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": "@layer1"`, `"mediaType": "", "digest": "@layer1"`, "layers[0].mediaType: is required"},
		{`"mediaType": "application/vnd.oci.image.config.v1+json", `, ``, "config.mediaType: is required"},
		{`"mediaType": "application/vnd.oci.image.config.v1+json", `, `"mediaType": ["a"], `, "config.mediaType: must be a string"},
		{`, "size": 93}`, `}`, "layers[1].size: is required"},
		{`"size": 93`, `"size": -1`, "layers[1].size: must be a non-negative integer, got -1"},
		{`"size": 93`, `"size": 9.5`, "layers[1].size: must be a non-negative integer, got 9.5"},
		{`"size": 93`, `"size": "93"`, "layers[1].size: must be a non-negative integer"},
		{`"size": 93`, `"size": 99999999999999999999`, "layers[1].size: must be a non-negative integer"},
		{`"size": 93`, `"size": 93, "annotations": {"a": 1}`, `layers[1].annotations["a"]: must be a string`},
		{`"size": 93`, `"size": 93, "annotations": "a"`, `layers[1].annotations is a string`},
		{`"size": 93`, `"size": 93, "platform": "linux"`, `layers[1].platform`},
		{`"size": 93`, `"size": 93, "artifactType": false`, `layers[1].artifactType: must be a string`},
		{`{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": "@layer2", "size": 93}`, `"layer"`, "layers[1] is a string, want a JSON object"},
		{`"org.opencontainers.image.created": "2024-05-01T00:00:00Z"`, `"x": {}`, `annotations["x"]: must be a string`},
	} {
		body := strings.Replace(ociImage, tt.from, tt.to, 1)
		if body == ociImage {
			t.Fatalf("fixture edit %q did not apply", tt.from)
		}
		parseErr(t, MediaTypeOCIManifest, body, tt.msg)
	}
}

func TestImageStructure(t *testing.T) {
	parseErr(t, MediaTypeOCIManifest, strings.Replace(ociImage, `"config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": "@config", "size": 1469},`, ``, 1),
		"config: is required")
	parseErr(t, MediaTypeOCIManifest, strings.Replace(ociImage, `"config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": "@config", "size": 1469},`, `"config": null,`, 1),
		"config: is required")
	parseErr(t, MediaTypeOCIManifest, `{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
		"config": {"mediaType": "a/b", "digest": "@config", "size": 1}, "layers": {"a": 1}}`, "layers: must be an array")
	parseErr(t, MediaTypeOCIIndex, `{"schemaVersion": 2, "manifests": "none"}`, "manifests: must be an array")
	// No layers at all, or null layers, is a valid artifact.
	for _, layers := range []string{`"layers": [],`, `"layers": null,`, ``} {
		body := `{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json", ` + layers + `
			"config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": "@emptyJSON", "size": 2}}`
		p := mustParse(t, "", body)
		if len(p.Layers) != 0 || len(p.Blobs()) != 1 {
			t.Errorf("%q: parsed %+v", layers, p)
		}
	}
}

// A document that is both a manifest and an index is refused, whatever it
// claims to be (CVE-2021-41190).
func TestAmbiguousDocument(t *testing.T) {
	image := strings.Replace(ociImage, `"layers": [`, `"manifests": [], "layers": [`, 1)
	parseErr(t, "", image, "manifests: not allowed in an image manifest")
	index := strings.Replace(ociIndex, `"manifests": [`, `"layers": [], "manifests": [`, 1)
	parseErr(t, "", index, "layers: not allowed in an index")
	index = strings.Replace(ociIndex, `"manifests": [`, `"config": {}, "manifests": [`, 1)
	parseErr(t, "", index, "config: not allowed in an index")
	// With no mediaType anywhere, shape detection must not pick a side.
	both := `{"schemaVersion": 2, "manifests": [], "config": {"mediaType": "a/b", "digest": "@config", "size": 1}}`
	parseErr(t, "", both, "not allowed")
}

func TestNotAJSONObject(t *testing.T) {
	for _, tt := range []struct{ body, msg string }{
		{``, "manifest is empty"},
		{`   `, "manifest is empty"},
		{`[]`, "manifest is an array"},
		{`"x"`, "manifest is a string"},
		{`2`, "manifest is a number"},
		{`null`, "manifest is null"},
		{`true`, "manifest is a boolean"},
		{`{`, "manifest is not valid JSON"},
		{`{"schemaVersion": 2,}`, "manifest is not valid JSON"},
		{`{"a" 1}`, "manifest is not valid JSON"},
		{`{"schemaVersion": 2} {}`, "manifest is not valid JSON"},
		{`{"schemaVersion": 2} x`, "manifest is not valid JSON"},
		{"\xff", "manifest is not valid JSON"},
	} {
		parseErr(t, MediaTypeOCIManifest, tt.body, tt.msg)
	}
	// Trailing white space is fine.
	mustParse(t, MediaTypeOCIManifest, ociImage+"\n\n")
}

// Member names are exact and unique, so we read what every other parser
// reads (see decodeObject).
func TestStrictMemberNames(t *testing.T) {
	dup := strings.Replace(ociImage, `"digest": "@layer1"`, `"digest": "@layer1", "digest": "@layer2"`, 1)
	parseErr(t, MediaTypeOCIManifest, dup, `layers[0] has the member "digest" more than once`)
	dupTop := strings.Replace(ociImage, `"schemaVersion": 2,`, `"schemaVersion": 2, "schemaVersion": 2,`, 1)
	parseErr(t, MediaTypeOCIManifest, dupTop, `manifest has the member "schemaVersion" more than once`)
	dupAnn := strings.Replace(ociImage, `{"org.opencontainers.image.created": "2024-05-01T00:00:00Z"}`, `{"a": "1", "a": "2"}`, 1)
	parseErr(t, MediaTypeOCIManifest, dupAnn, `annotations has the member "a" more than once`)
	// "Digest" is not "digest": a descriptor with only the former has none.
	caseVariant := strings.Replace(ociImage, `"digest": "@layer1"`, `"Digest": "@layer1"`, 1)
	parseErr(t, MediaTypeOCIManifest, caseVariant, "layers[0].digest: is required")
	// ... and an extra case variant next to the real member is just unknown.
	extra := strings.Replace(ociImage, `"digest": "@layer1"`, `"digest": "@layer1", "Digest": "@layer2"`, 1)
	p := mustParse(t, MediaTypeOCIManifest, extra)
	if p.Layers[0].Digest != dLayer1 {
		t.Errorf("digest = %s, want %s", p.Layers[0].Digest, dLayer1)
	}
}

func TestReferrerArtifactType(t *testing.T) {
	for _, tt := range []struct {
		name string
		p    Parsed
		want string
	}{
		{"artifactType wins", Parsed{MediaType: MediaTypeOCIManifest, ArtifactType: "a/b", Config: &v1.Descriptor{MediaType: "c/d"}}, "a/b"},
		{"config media type", Parsed{MediaType: MediaTypeOCIManifest, Config: &v1.Descriptor{MediaType: "c/d"}}, "c/d"},
		// The spec makes no exception for the image config.
		{"image config", Parsed{MediaType: MediaTypeOCIManifest, Config: &v1.Descriptor{MediaType: MediaTypeOCIImageConfig}}, MediaTypeOCIImageConfig},
		{"index with artifactType", Parsed{MediaType: MediaTypeOCIIndex, ArtifactType: "a/b"}, "a/b"},
		{"index without", Parsed{MediaType: MediaTypeOCIIndex}, ""},
	} {
		if got := ReferrerArtifactType(&tt.p); got != tt.want {
			t.Errorf("%s: ReferrerArtifactType = %q, want %q", tt.name, got, tt.want)
		}
	}
}

// BenchmarkParseLarge parses a manifest near the server's 4 MiB limit.
func BenchmarkParseLarge(b *testing.B) {
	var sb strings.Builder
	sb.WriteString(`{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
		"config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": "@config", "size": 1469},
		"layers": [`)
	for i := 0; i < 25000; i++ {
		if i > 0 {
			sb.WriteString(",")
		}
		sb.WriteString(`{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": "@layer1", "size": 3370706}`)
	}
	sb.WriteString("]}")
	body := fixture(sb.String())
	b.SetBytes(int64(len(body)))
	b.ResetTimer()
	for b.Loop() {
		if _, err := Parse("", body); err != nil {
			b.Fatal(err)
		}
	}
}
