package spec

import (
	"maps"
	"slices"
	"sort"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// ApplyTo returns the OCI runtime config of an image built from a base whose
// config is base:
//   - env and labels merge key by key over the base's (new env keys are
//     appended in sorted order, so the result is deterministic);
//   - every other field the file set replaces the base's, an empty value
//     clearing it; unset fields are inherited;
//   - as in Docker, setting entrypoint without cmd drops the base's cmd,
//     since a cmd written for another entrypoint is meaningless.
//
// Annotations belong to the manifest, not the config, and are not applied
// here; Healthcheck.StartInterval has no field in v1.HealthConfig and is
// dropped.
func (c Config) ApplyTo(base v1.Config) v1.Config {
	out := base
	out.Env = slices.Clone(base.Env)
	out.Labels = maps.Clone(base.Labels)
	if c.Has(FieldEnv) {
		out.Env = mergeEnv(out.Env, c.Env)
	}
	if c.Has(FieldLabels) {
		if out.Labels == nil && len(c.Labels) > 0 {
			out.Labels = map[string]string{}
		}
		maps.Copy(out.Labels, c.Labels)
	}
	if c.Has(FieldEntrypoint) {
		out.Entrypoint = emptyToNil(c.Entrypoint)
		if !c.Has(FieldCmd) {
			out.Cmd = nil
		}
	}
	if c.Has(FieldCmd) {
		out.Cmd = emptyToNil(c.Cmd)
	}
	if c.Has(FieldWorkdir) {
		out.WorkingDir = c.Workdir
	}
	if c.Has(FieldUser) {
		out.User = c.User
	}
	if c.Has(FieldStopSignal) {
		out.StopSignal = c.StopSignal
	}
	if c.Has(FieldPorts) {
		out.ExposedPorts = toSet(c.Ports)
	}
	if c.Has(FieldVolumes) {
		out.Volumes = toSet(c.Volumes)
	}
	if c.Has(FieldHealthcheck) {
		out.Healthcheck = nil
		if h := c.Healthcheck; h != nil {
			out.Healthcheck = &v1.HealthConfig{
				Test:        slices.Clone(h.Test),
				Interval:    h.Interval,
				Timeout:     h.Timeout,
				StartPeriod: h.StartPeriod,
				Retries:     h.Retries,
			}
		}
	}
	return out
}

// mergeEnv sets each key of set in a "KEY=VALUE" list, replacing in place
// and appending new keys in sorted order.
func mergeEnv(env []string, set map[string]string) []string {
	done := map[string]bool{}
	for i, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		if v, ok := set[k]; ok {
			env[i] = k + "=" + v
			done[k] = true
		}
	}
	keys := make([]string, 0, len(set))
	for k := range set {
		if !done[k] {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		env = append(env, k+"="+set[k])
	}
	return env
}

func toSet(items []string) map[string]struct{} {
	if len(items) == 0 {
		return nil
	}
	out := make(map[string]struct{}, len(items))
	for _, it := range items {
		out[it] = struct{}{}
	}
	return out
}

func emptyToNil(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return slices.Clone(s)
}
