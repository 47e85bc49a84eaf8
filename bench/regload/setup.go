package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"time"
)

const (
	ociManifestType = "application/vnd.oci.image.manifest.v1+json"
	ociConfigType   = "application/vnd.oci.image.config.v1+json"
	ociLayerType    = "application/vnd.oci.image.layer.v1.tar"
)

// blobRef names a blob already stored in the registry.
type blobRef struct {
	digest string
	size   int64
}

// fixtures is the content the read scenarios need, created before timing.
type fixtures struct {
	blobRepo  string
	pull1m    []blobRef
	pull10m   []blobRef
	imageRepo string
	tags      []string
	seed      uint64 // fixtures are a function of it, so reruns reuse them
	// warnings are protocol deviations found while checking the fixtures
	// that do not invalidate the measurements (e.g. a missing header).
	warnings []string
	elapsed  time.Duration
}

func (f *fixtures) warnf(format string, args ...any) {
	f.warnings = append(f.warnings, fmt.Sprintf(format, args...))
}

func sha256Digest(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// ensureBlob pushes a blob unless the repository already has it (from an
// earlier regload run with the same -seed).
func ensureBlob(ctx context.Context, c *client, repo, digest string, size int64, body io.Reader) error {
	resp, _, err := c.fetch(ctx, http.MethodHead, "/v2/"+repo+"/blobs/"+digest, nil)
	if err == nil && resp.ContentLength == size {
		return nil
	}
	return c.pushBlob(ctx, repo, digest, body)
}

// setupPullBlobs stores count distinct blobs of size bytes and reads each back
// once, checking the bytes against the digest: a server that returns wrong
// content must not be benchmarked.
func setupPullBlobs(ctx context.Context, c *client, f *fixtures, size, count int) ([]blobRef, error) {
	gen, err := newSeededBlobGen(size, f.seed)
	if err != nil {
		return nil, err
	}
	refs := make([]blobRef, 0, count)
	for range count {
		b, err := gen.next()
		if err != nil {
			return nil, err
		}
		if err := ensureBlob(ctx, c, f.blobRepo, b.digest, b.size(), b.reader()); err != nil {
			return nil, fmt.Errorf("setup: push %d-byte blob: %w", size, err)
		}
		refs = append(refs, blobRef{digest: b.digest, size: int64(size)})
	}
	for _, r := range refs {
		resp, body, err := c.fetch(ctx, http.MethodGet, "/v2/"+f.blobRepo+"/blobs/"+r.digest, nil)
		if err != nil {
			return nil, fmt.Errorf("setup: read back blob: %w", err)
		}
		if got := sha256Digest(body); got != r.digest {
			return nil, fmt.Errorf("setup: GET blob %s returned %d bytes hashing to %s", r.digest, len(body), got)
		}
		if h := resp.Header.Get("Docker-Content-Digest"); h != r.digest {
			f.warnf("GET blob %s: Docker-Content-Digest is %q", r.digest, h)
		}
		resp, _, err = c.fetch(ctx, http.MethodHead, "/v2/"+f.blobRepo+"/blobs/"+r.digest, nil)
		if err != nil {
			return nil, fmt.Errorf("setup: HEAD blob: %w", err)
		}
		if resp.ContentLength != r.size {
			f.warnf("HEAD blob %s: Content-Length %d, want %d", r.digest, resp.ContentLength, r.size)
		}
	}
	return refs, nil
}

// ociDescriptor and ociManifest are the subset of the OCI image manifest the
// fixtures need; a benchmark should not depend on the server's own types.
type ociDescriptor struct {
	MediaType string `json:"mediaType"`
	Digest    string `json:"digest"`
	Size      int64  `json:"size"`
}

type ociManifest struct {
	SchemaVersion int             `json:"schemaVersion"`
	MediaType     string          `json:"mediaType"`
	Config        ociDescriptor   `json:"config"`
	Layers        []ociDescriptor `json:"layers"`
}

// setupImages pushes images distinct single-layer images to f.imageRepo and
// tags them tags times round-robin (skipping what an earlier run with the
// same seed stored), so manifest scenarios resolve many tags
// and tag listing returns a realistic list. It returns the manifest digest
// of every tag.
func setupImages(ctx context.Context, c *client, f *fixtures, images, tags int) (map[string]string, error) {
	manifests := make([][]byte, images)
	for i := range images {
		layer := make([]byte, 4096)
		_, _ = seededRand(f.seed, uint64(i)).Read(layer)
		layerDigest := sha256Digest(layer)
		config, err := json.Marshal(map[string]any{
			"architecture": "amd64",
			"os":           "linux",
			"config":       map[string]any{"Labels": map[string]string{"dev.berth.regload.image": fmt.Sprint(i)}},
			"rootfs":       map[string]any{"type": "layers", "diff_ids": []string{layerDigest}},
		})
		if err != nil {
			return nil, err
		}
		configDigest := sha256Digest(config)
		for _, b := range [][]byte{layer, config} {
			if err := ensureBlob(ctx, c, f.imageRepo, sha256Digest(b), int64(len(b)), bytes.NewReader(b)); err != nil {
				return nil, fmt.Errorf("setup: push image %d blob: %w", i, err)
			}
		}
		m, err := json.Marshal(ociManifest{
			SchemaVersion: 2,
			MediaType:     ociManifestType,
			Config:        ociDescriptor{MediaType: ociConfigType, Digest: configDigest, Size: int64(len(config))},
			Layers:        []ociDescriptor{{MediaType: ociLayerType, Digest: layerDigest, Size: int64(len(layer))}},
		})
		if err != nil {
			return nil, err
		}
		manifests[i] = m
	}
	want := make(map[string]string, tags)
	for t := range tags {
		tag := fmt.Sprintf("t%04d", t)
		m := manifests[t%images]
		want[tag] = sha256Digest(m)
		f.tags = append(f.tags, tag)
		resp, _, err := c.fetch(ctx, http.MethodHead, "/v2/"+f.imageRepo+"/manifests/"+tag, http.Header{"Accept": {manifestAccept}})
		if err == nil && resp.Header.Get("Docker-Content-Digest") == want[tag] {
			continue // tagged by an earlier run with the same -seed
		}
		if err := c.putManifest(ctx, f.imageRepo, tag, ociManifestType, m); err != nil {
			return nil, fmt.Errorf("setup: tag %s: %w", tag, err)
		}
	}
	return want, nil
}

// checkImages verifies, once, what the manifest and tag scenarios will then
// request blindly: tag resolution by HEAD and GET, and the tag list.
func checkImages(ctx context.Context, c *client, f *fixtures, want map[string]string) error {
	accept := http.Header{"Accept": {manifestAccept}}
	tag := f.tags[0]
	path := "/v2/" + f.imageRepo + "/manifests/" + tag
	resp, _, err := c.fetch(ctx, http.MethodHead, path, accept)
	if err != nil {
		return fmt.Errorf("setup: HEAD manifest: %w", err)
	}
	if h := resp.Header.Get("Docker-Content-Digest"); h != want[tag] {
		f.warnf("HEAD manifest %s: Docker-Content-Digest %q, want %q", tag, h, want[tag])
	}
	if ct := resp.Header.Get("Content-Type"); ct != ociManifestType {
		f.warnf("HEAD manifest %s: Content-Type %q, want %q", tag, ct, ociManifestType)
	}
	resp, body, err := c.fetch(ctx, http.MethodGet, path, accept)
	if err != nil {
		return fmt.Errorf("setup: GET manifest: %w", err)
	}
	if got := sha256Digest(body); got != want[tag] {
		return fmt.Errorf("setup: GET manifest %s returned content with digest %s, want %s", tag, got, want[tag])
	}
	if h := resp.Header.Get("Docker-Content-Digest"); h != want[tag] {
		f.warnf("GET manifest %s: Docker-Content-Digest %q, want %q", tag, h, want[tag])
	}

	resp, body, err = c.fetch(ctx, http.MethodGet, "/v2/"+f.imageRepo+"/tags/list", nil)
	if err != nil {
		return fmt.Errorf("setup: tag list: %w", err)
	}
	var list struct {
		Name string   `json:"name"`
		Tags []string `json:"tags"`
	}
	if err := json.Unmarshal(body, &list); err != nil {
		return fmt.Errorf("setup: tag list is not JSON: %w", err)
	}
	if resp.Header.Get("Link") != "" {
		f.warnf("tag list is paginated (Link: %s); the tags scenario reads only the first page", resp.Header.Get("Link"))
	}
	for _, t := range f.tags {
		if !slices.Contains(list.Tags, t) {
			if resp.Header.Get("Link") == "" {
				return fmt.Errorf("setup: tag list of %s lacks pushed tag %s (got %d tags)", f.imageRepo, t, len(list.Tags))
			}
			break
		}
	}
	if !slices.IsSorted(list.Tags) {
		f.warnf("tag list is not sorted lexically")
	}
	return nil
}
