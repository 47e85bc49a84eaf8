package sbom

import (
	"fmt"
	"sort"
	"time"
)

// SLSA v1 provenance (https://slsa.dev/spec/v1.0/provenance).
const (
	ProvenancePredicateType = "https://slsa.dev/provenance/v1"
	// BuildType names berth's build: the externalParameters are the
	// berth.yaml (by digest), the image and the variant.
	BuildType = "https://berth.dev/build/v1"
	// BuilderIDPrefix + version is runDetails.builder.id.
	BuilderIDPrefix = "https://berth.dev/berth@"
)

// BuildInputs is what a build was made from, as the builder knows it.
type BuildInputs struct {
	// Config is berth.yaml: its path (as given) and sha256 (hex).
	ConfigPath, ConfigSHA256 string
	// Lock is berth.lock's sha256 (hex); "" when the build had none.
	LockPath, LockSHA256 string
	Image, Variant       string
	// Epoch is SOURCE_DATE_EPOCH (the build's timestamps).
	Epoch time.Time
	// Dependencies are every input's digest: Debian packages (.deb
	// sha256), base images, layer sources' content keys, Go modules.
	Dependencies []Dependency
}

// Dependency is an SLSA ResourceDescriptor.
type Dependency struct {
	URI    string            `json:"uri,omitempty"`
	Name   string            `json:"name,omitempty"`
	Digest map[string]string `json:"digest"`
}

type slsaProvenance struct {
	BuildDefinition slsaBuildDefinition `json:"buildDefinition"`
	RunDetails      slsaRunDetails      `json:"runDetails"`
}

type slsaBuildDefinition struct {
	BuildType            string         `json:"buildType"`
	ExternalParameters   slsaExternal   `json:"externalParameters"`
	InternalParameters   map[string]any `json:"internalParameters,omitempty"`
	ResolvedDependencies []Dependency   `json:"resolvedDependencies"`
}

type slsaExternal struct {
	Config  Dependency `json:"config"`
	Image   string     `json:"image"`
	Variant string     `json:"variant,omitempty"`
}

type slsaRunDetails struct {
	Builder  slsaBuilder  `json:"builder"`
	Metadata slsaMetadata `json:"metadata"`
}

type slsaBuilder struct {
	ID string `json:"id"`
}

type slsaMetadata struct {
	InvocationID string `json:"invocationId"`
	StartedOn    string `json:"startedOn,omitempty"`
	FinishedOn   string `json:"finishedOn,omitempty"`
}

// Provenance renders the SLSA v1 provenance predicate of the image inv
// describes, built from in by berth version tool. The Go modules of inv's
// binaries are added to the dependencies (by their go.sum hash); the
// dependencies are sorted and deduplicated, so the output is
// deterministic.
func Provenance(inv *Inventory, in BuildInputs, m Meta) ([]byte, error) {
	if in.ConfigSHA256 == "" {
		return nil, fmt.Errorf("provenance of %s: no berth.yaml digest", inv.Name)
	}
	deps := append([]Dependency(nil), in.Dependencies...)
	if in.LockSHA256 != "" {
		deps = append(deps, Dependency{URI: "file:" + in.LockPath, Name: "berth.lock", Digest: map[string]string{"sha256": in.LockSHA256}})
	}
	for _, p := range inv.Packages {
		if p.Kind != KindGolang || p.Main {
			continue
		}
		d := map[string]string{}
		if h, ok := GoSumHex(p.Sum); ok {
			d["dirHash"] = h // golang.org/x/mod/sumdb/dirhash Hash1, hex
		}
		if p.Name == "stdlib" {
			d["goVersion"] = p.Version
		}
		if len(d) == 0 {
			continue // a module without a sum (vendored or replaced by a directory)
		}
		deps = append(deps, Dependency{URI: p.PURL, Digest: d})
	}
	deps = sortDependencies(deps)
	ep := map[string]any{}
	if !in.Epoch.IsZero() {
		ep["sourceDateEpoch"] = in.Epoch.Unix()
	}
	p := slsaProvenance{
		BuildDefinition: slsaBuildDefinition{
			BuildType: BuildType,
			ExternalParameters: slsaExternal{
				Config: Dependency{URI: "file:" + in.ConfigPath, Name: "berth.yaml", Digest: map[string]string{"sha256": in.ConfigSHA256}},
				Image:  in.Image, Variant: in.Variant,
			},
			InternalParameters:   ep,
			ResolvedDependencies: deps,
		},
		RunDetails: slsaRunDetails{
			Builder:  slsaBuilder{ID: BuilderIDPrefix + m.tool()},
			Metadata: slsaMetadata{InvocationID: "urn:uuid:" + DocumentUUID(inv.Digest, "provenance"), FinishedOn: m.time(inv)},
		},
	}
	if len(p.BuildDefinition.InternalParameters) == 0 {
		p.BuildDefinition.InternalParameters = nil
	}
	return marshal(p)
}

// sortDependencies orders by URI then name and drops exact repeats (one
// module in two binaries).
func sortDependencies(deps []Dependency) []Dependency {
	sort.SliceStable(deps, func(i, j int) bool {
		if deps[i].URI != deps[j].URI {
			return deps[i].URI < deps[j].URI
		}
		return deps[i].Name < deps[j].Name
	})
	var out []Dependency
	for _, d := range deps {
		if n := len(out); n > 0 && d.URI == out[n-1].URI && d.Name == out[n-1].Name && fmt.Sprint(d.Digest) == fmt.Sprint(out[n-1].Digest) {
			continue
		}
		out = append(out, d)
	}
	if out == nil {
		out = []Dependency{}
	}
	return out
}
