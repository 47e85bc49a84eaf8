// Package inspect analyses images: a per-layer report with dive's efficiency
// metrics (Inspect), filesystem and Debian package differences between two
// images (Diff), and swapping an image's base layers (Rebase).
package inspect

import (
	"archive/tar"
	"fmt"
	"sort"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// BerthCreatedByPrefix starts the history created_by of layers berth builds;
// the rest is the layer's name (its concern).
const BerthCreatedByPrefix = "berth: "

// DefaultTop is how many largest files and wasted paths a report lists.
const DefaultTop = 10

// Report describes one image.
type Report struct {
	Digest    string `json:"digest"`
	MediaType string `json:"mediaType"`
	Platform  string `json:"platform,omitempty"`
	Created   string `json:"created,omitempty"`
	// Size is what a pull transfers: manifest + config + compressed layers.
	Size int64 `json:"size"`
	// UncompressedSize is manifest + config + the layers' uncompressed tars.
	UncompressedSize int64 `json:"uncompressedSize"`
	Files            int   `json:"files"`  // regular files (whiteout markers excluded), summed over layers
	Inodes           int   `json:"inodes"` // tar entries, summed over layers

	// dive's metrics (see dive.go).
	Efficiency        float64 `json:"efficiency"`        // 0..1
	WastedBytes       int64   `json:"wastedBytes"`       // bytes of paths stored in ≥ 2 layers, all copies
	WastedUserPercent float64 `json:"wastedUserPercent"` // wastedBytes / content of layers 1..n (0..1; 0 if none)
	ContentSize       int64   `json:"contentSize"`       // sum of entry sizes over all layers (dive's image size)
	UserContentSize   int64   `json:"userContentSize"`   // ... except layer 0
	Inefficiencies    []Waste `json:"inefficiencies"`    // the largest wasted paths

	Layers       []Layer           `json:"layers"`
	LargestFiles []File            `json:"largestFiles"` // of the final filesystem
	Config       Config            `json:"config"`
	Annotations  map[string]string `json:"annotations,omitempty"`
	History      []History         `json:"history,omitempty"`
	// Referrers are the artifacts a registry lists for the image (the
	// caller fills them in: signatures, SBOMs, provenance).
	Referrers []Referrer `json:"referrers,omitempty"`
}

// Referrer is one artifact referring to the image.
type Referrer struct {
	ArtifactType  string `json:"artifactType"`
	Digest        string `json:"digest"`
	PredicateType string `json:"predicateType,omitempty"`
}

// ReferrersOf are the referrers an image's referrers index lists, their
// predicate types read from the annotations by predicateType (the signing
// package knows where attestations announce them).
func ReferrersOf(descs []v1.Descriptor, predicateType func(annotations map[string]string) string) []Referrer {
	var out []Referrer
	for _, d := range descs {
		out = append(out, Referrer{ArtifactType: d.ArtifactType, Digest: d.Digest.String(), PredicateType: predicateType(d.Annotations)})
	}
	return out
}

// Layer describes one layer.
type Layer struct {
	Index            int    `json:"index"`
	Concern          string `json:"concern,omitempty"`   // berth's layer name, or the trimmed created_by
	CreatedBy        string `json:"createdBy,omitempty"` // as recorded in the history
	MediaType        string `json:"mediaType"`
	Digest           string `json:"digest"`
	DiffID           string `json:"diffID"`
	Size             int64  `json:"size"`             // compressed
	UncompressedSize int64  `json:"uncompressedSize"` // tar stream
	ContentSize      int64  `json:"contentSize"`      // sum of entry sizes (dive's layer size)
	Files            int    `json:"files"`
	Inodes           int    `json:"inodes"`
}

// File is a regular file of the final filesystem.
type File struct {
	Path  string `json:"path"` // absolute: "/usr/bin/env"
	Size  int64  `json:"size"`
	Layer int    `json:"layer"` // the layer it comes from
}

// Config is the runtime configuration of the image.
type Config struct {
	User         string            `json:"user,omitempty"`
	Env          []string          `json:"env,omitempty"`
	Entrypoint   []string          `json:"entrypoint,omitempty"`
	Cmd          []string          `json:"cmd,omitempty"`
	WorkingDir   string            `json:"workingDir,omitempty"`
	ExposedPorts []string          `json:"exposedPorts,omitempty"`
	Volumes      []string          `json:"volumes,omitempty"`
	Labels       map[string]string `json:"labels,omitempty"`
	StopSignal   string            `json:"stopSignal,omitempty"`
	Healthcheck  *Healthcheck      `json:"healthcheck,omitempty"`
}

// Healthcheck is Docker's HEALTHCHECK (durations as Go duration strings).
type Healthcheck struct {
	Test        []string `json:"test,omitempty"`
	Interval    string   `json:"interval,omitempty"`
	Timeout     string   `json:"timeout,omitempty"`
	StartPeriod string   `json:"startPeriod,omitempty"`
	Retries     int      `json:"retries,omitempty"`
}

// History is one config history entry.
type History struct {
	Created    string `json:"created,omitempty"`
	CreatedBy  string `json:"createdBy,omitempty"`
	Comment    string `json:"comment,omitempty"`
	EmptyLayer bool   `json:"emptyLayer,omitempty"`
}

// Options tune Inspect.
type Options struct {
	// Top is how many largest files and wasted paths to list (0: DefaultTop,
	// negative: none).
	Top int
}

// TopOptions are the Options of berth inspect --top top: how many
// largest files and wasted paths to list, 0 for none; negative is an error.
func TopOptions(top int) (Options, error) {
	switch {
	case top < 0:
		return Options{}, fmt.Errorf("--top must be 0 or more, got %d", top)
	case top == 0:
		return Options{Top: -1}, nil // Options' "none"
	}
	return Options{Top: top}, nil
}

// Inspect reads every layer of img once and reports on it, listing the
// DefaultTop largest files.
func Inspect(img v1.Image) (*Report, error) {
	return InspectWith(img, Options{})
}

// InspectWith is Inspect with options.
func InspectWith(img v1.Image, o Options) (*Report, error) {
	top := o.Top
	if top == 0 {
		top = DefaultTop
	}
	if top < 0 {
		top = 0
	}
	digest, err := img.Digest()
	if err != nil {
		return nil, fmt.Errorf("digest: %v", err)
	}
	mt, err := img.MediaType()
	if err != nil {
		return nil, fmt.Errorf("media type: %v", err)
	}
	manifest, err := img.Manifest()
	if err != nil {
		return nil, fmt.Errorf("manifest: %v", err)
	}
	rawManifest, err := img.RawManifest()
	if err != nil {
		return nil, fmt.Errorf("manifest: %v", err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("config: %v", err)
	}
	layers, err := img.Layers()
	if err != nil {
		return nil, fmt.Errorf("layers: %v", err)
	}
	if len(manifest.Layers) != len(layers) {
		return nil, fmt.Errorf("manifest lists %d layers, image has %d", len(manifest.Layers), len(layers))
	}

	r := &Report{
		Digest:           digest.String(),
		MediaType:        string(mt),
		Size:             int64(len(rawManifest)) + manifest.Config.Size,
		UncompressedSize: int64(len(rawManifest)) + manifest.Config.Size,
		Annotations:      manifest.Annotations,
		Config:           configOf(cf),
		Layers:           []Layer{},
		LargestFiles:     []File{},
		Inefficiencies:   []Waste{},
	}
	if cf.OS != "" {
		r.Platform = cf.OS + "/" + cf.Architecture
		if cf.Variant != "" {
			r.Platform += "/" + cf.Variant
		}
	}
	if !cf.Created.IsZero() {
		r.Created = cf.Created.UTC().Format(time.RFC3339)
	}
	for _, h := range cf.History {
		e := History{CreatedBy: h.CreatedBy, Comment: h.Comment, EmptyLayer: h.EmptyLayer}
		if !h.Created.IsZero() {
			e.Created = h.Created.UTC().Format(time.RFC3339)
		}
		r.History = append(r.History, e)
	}
	createdBy := layerHistory(cf.History, len(layers))

	fs := filesystem{}
	trees := make([]*diveTree, 0, len(layers))
	for i, l := range layers {
		desc := manifest.Layers[i]
		diffID, err := l.DiffID()
		if err != nil {
			return nil, fmt.Errorf("layer %d: diffID: %v", i, err)
		}
		s, err := scanLayer(l, i, scanOptions{dive: true})
		if err != nil {
			return nil, err
		}
		fs.apply(s)
		trees = append(trees, s.dive)
		r.Layers = append(r.Layers, Layer{
			Index:            i,
			Concern:          concern(createdBy[i]),
			CreatedBy:        createdBy[i],
			MediaType:        string(desc.MediaType),
			Digest:           desc.Digest.String(),
			DiffID:           diffID.String(),
			Size:             desc.Size,
			UncompressedSize: s.tarBytes,
			ContentSize:      s.dive.fileSize,
			Files:            s.files,
			Inodes:           s.inodes,
		})
		r.Size += desc.Size
		r.UncompressedSize += s.tarBytes
		r.Files += s.files
		r.Inodes += s.inodes
	}

	d := efficiency(trees)
	r.Efficiency = d.efficiency
	r.WastedBytes = d.wastedBytes
	r.ContentSize = d.sizeBytes
	r.UserContentSize = d.userSizeBytes
	if d.userSizeBytes > 0 {
		r.WastedUserPercent = float64(d.wastedBytes) / float64(d.userSizeBytes)
	}
	if len(d.inefficiencies) > top {
		d.inefficiencies = d.inefficiencies[:top]
	}
	r.Inefficiencies = append(r.Inefficiencies, d.inefficiencies...)
	r.LargestFiles = largestFiles(fs, top)
	return r, nil
}

// layerHistory pairs the non-empty history entries with the layers, in
// order (what docker history and dive do); layers without an entry get "".
func layerHistory(h []v1.History, n int) []string {
	out := make([]string, n)
	i := 0
	for _, e := range h {
		if e.EmptyLayer {
			continue
		}
		if i >= n {
			break
		}
		out[i] = e.CreatedBy
		i++
	}
	return out
}

// concern names a layer: berth's layer name, else the created_by without
// the shell/no-op prefixes Docker adds.
func concern(createdBy string) string {
	s := strings.TrimSpace(createdBy)
	if strings.HasPrefix(s, BerthCreatedByPrefix) {
		return strings.TrimSpace(strings.TrimPrefix(s, BerthCreatedByPrefix))
	}
	s = strings.TrimPrefix(s, "/bin/sh -c ")
	s = strings.TrimPrefix(s, "#(nop) ")
	return strings.TrimSpace(s)
}

func largestFiles(fs filesystem, top int) []File {
	files := []File{}
	for p, e := range fs {
		if e.Type == tar.TypeReg {
			files = append(files, File{Path: "/" + p, Size: e.Size, Layer: e.Layer})
		}
	}
	sort.Slice(files, func(i, j int) bool {
		if files[i].Size != files[j].Size {
			return files[i].Size > files[j].Size
		}
		return files[i].Path < files[j].Path
	})
	if len(files) > top {
		files = files[:top]
	}
	return files
}

func configOf(cf *v1.ConfigFile) Config {
	c := cf.Config
	out := Config{
		User: c.User, Env: c.Env, Entrypoint: c.Entrypoint, Cmd: c.Cmd, WorkingDir: c.WorkingDir,
		Labels: c.Labels, StopSignal: c.StopSignal,
	}
	for p := range c.ExposedPorts {
		out.ExposedPorts = append(out.ExposedPorts, p)
	}
	sort.Strings(out.ExposedPorts)
	for v := range c.Volumes {
		out.Volumes = append(out.Volumes, v)
	}
	sort.Strings(out.Volumes)
	if h := c.Healthcheck; h != nil {
		out.Healthcheck = &Healthcheck{Test: h.Test, Retries: h.Retries}
		if h.Interval != 0 {
			out.Healthcheck.Interval = h.Interval.String()
		}
		if h.Timeout != 0 {
			out.Healthcheck.Timeout = h.Timeout.String()
		}
		if h.StartPeriod != 0 {
			out.Healthcheck.StartPeriod = h.StartPeriod.String()
		}
	}
	return out
}
