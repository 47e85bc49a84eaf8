package build

import (
	"maps"
	"slices"
	"sort"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"

	"github.com/berth-dev/berth/internal/inspect"
	"github.com/berth-dev/berth/internal/spec"
)

// applyConfig writes img's config over what the base image had: unset
// fields inherit, set ones replace (maps merge key by key), as Docker does
// for a Dockerfile's instructions.
func (b *Builder) applyConfig(cur v1.Image, img *spec.Image, plat platform, base baseInfo) (v1.Image, error) {
	cf, err := cur.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	c := img.Config
	cfg := &cf.Config
	if c.Has(spec.FieldEnv) {
		cfg.Env = mergeEnv(cfg.Env, c.Env)
	}
	if c.Has(spec.FieldEntrypoint) {
		cfg.Entrypoint = slices.Clone(c.Entrypoint)
		// Docker: setting ENTRYPOINT resets an inherited CMD.
		if !c.Has(spec.FieldCmd) {
			cfg.Cmd = nil
		}
	}
	if c.Has(spec.FieldCmd) {
		cfg.Cmd = slices.Clone(c.Cmd)
	}
	if c.Has(spec.FieldWorkdir) {
		cfg.WorkingDir = c.Workdir
	}
	if c.Has(spec.FieldUser) {
		cfg.User = c.User
	}
	if c.Has(spec.FieldStopSignal) {
		cfg.StopSignal = c.StopSignal
	}
	if c.Has(spec.FieldPorts) {
		cfg.ExposedPorts = map[string]struct{}{}
		for _, p := range c.Ports {
			cfg.ExposedPorts[p] = struct{}{}
		}
	}
	if c.Has(spec.FieldVolumes) {
		cfg.Volumes = map[string]struct{}{}
		for _, v := range c.Volumes {
			cfg.Volumes[v] = struct{}{}
		}
	}
	if c.Has(spec.FieldLabels) {
		if cfg.Labels == nil {
			cfg.Labels = map[string]string{}
		}
		maps.Copy(cfg.Labels, c.Labels)
	}
	if c.Has(spec.FieldHealthcheck) && c.Healthcheck != nil {
		h := c.Healthcheck
		cfg.Healthcheck = &v1.HealthConfig{Test: slices.Clone(h.Test), Interval: h.Interval, Timeout: h.Timeout,
			StartPeriod: h.StartPeriod, Retries: h.Retries}
	}
	cf.OS, cf.Architecture, cf.Variant = plat.OS, plat.Architecture, plat.Variant
	cf.Created = v1.Time{Time: b.Epoch}
	cf.Author = ""
	out, err := mutate.ConfigFile(cur, cf)
	if err != nil {
		return nil, err
	}
	// Annotations: the base image's (for rebase) and the file's.
	ann := map[string]string{}
	if base.digest != "" {
		ann[inspect.BaseNameAnnotation] = base.name
		ann[inspect.BaseDigestAnnotation] = base.digest
	}
	maps.Copy(ann, c.Annotations)
	if len(ann) > 0 {
		out = mutate.Annotations(out, ann).(v1.Image)
	}
	return out, nil
}

// mergeEnv sets vars over env ("K=V" list), keeping the list's order for
// existing keys and appending new ones sorted (deterministic).
func mergeEnv(env []string, vars map[string]string) []string {
	out := slices.Clone(env)
	done := map[string]bool{}
	for i, kv := range out {
		k, _, _ := strings.Cut(kv, "=")
		if v, ok := vars[k]; ok {
			out[i] = k + "=" + v
			done[k] = true
		}
	}
	keys := make([]string, 0, len(vars))
	for k := range vars {
		if !done[k] {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		out = append(out, k+"="+vars[k])
	}
	return out
}
