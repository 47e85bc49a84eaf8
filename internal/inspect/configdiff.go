package inspect

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// ConfigChange is one setting of the image configuration that differs.
// Env and labels are compared per variable / label (Field "env PATH",
// "label org.opencontainers.image.version"), everything else as a whole.
type ConfigChange struct {
	Field  string `json:"field"`
	Change string `json:"change"` // added | removed | changed
	From   string `json:"from,omitempty"`
	To     string `json:"to,omitempty"`
}

// diffConfig compares what a container of each image would run with: the
// process (entrypoint, cmd, env, user, workdir), what it exposes and
// declares (ports, volumes, labels, stop signal, health check) and the
// platform. History and creation time are not compared.
func diffConfig(a, b *v1.ConfigFile) []ConfigChange {
	out := []ConfigChange{}
	ca, cb := a.Config, b.Config
	whole := func(field string, x, y string) {
		switch {
		case x == y:
		case x == "":
			out = append(out, ConfigChange{Field: field, Change: "added", To: y})
		case y == "":
			out = append(out, ConfigChange{Field: field, Change: "removed", From: x})
		default:
			out = append(out, ConfigChange{Field: field, Change: "changed", From: x, To: y})
		}
	}
	whole("platform", platform(a), platform(b))
	whole("entrypoint", list(ca.Entrypoint), list(cb.Entrypoint))
	whole("cmd", list(ca.Cmd), list(cb.Cmd))
	out = append(out, keyed("env", envMap(ca.Env), envMap(cb.Env))...)
	whole("user", ca.User, cb.User)
	whole("workdir", ca.WorkingDir, cb.WorkingDir)
	whole("ports", set(ca.ExposedPorts), set(cb.ExposedPorts))
	whole("volumes", set(ca.Volumes), set(cb.Volumes))
	out = append(out, keyed("label", ca.Labels, cb.Labels)...)
	whole("stopSignal", ca.StopSignal, cb.StopSignal)
	whole("healthcheck", health(ca.Healthcheck), health(cb.Healthcheck))
	whole("shell", list(ca.Shell), list(cb.Shell))
	return out
}

func platform(c *v1.ConfigFile) string {
	p := c.OS + "/" + c.Architecture
	if c.Variant != "" {
		p += "/" + c.Variant
	}
	return p
}

// list shows a command line as JSON (exec form), "" when unset.
func list(l []string) string {
	if l == nil {
		return ""
	}
	b, _ := json.Marshal(l)
	return string(b)
}

func set(m map[string]struct{}) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return strings.Join(keys, " ")
}

func envMap(env []string) map[string]string {
	m := make(map[string]string, len(env))
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		m[k] = v
	}
	return m
}

// keyed compares two maps key by key, in key order.
func keyed(field string, a, b map[string]string) []ConfigChange {
	var keys []string
	for k := range a {
		keys = append(keys, k)
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	var out []ConfigChange
	for _, k := range keys {
		x, inA := a[k]
		y, inB := b[k]
		f := field + " " + k
		switch {
		case !inA:
			out = append(out, ConfigChange{Field: f, Change: "added", To: y})
		case !inB:
			out = append(out, ConfigChange{Field: f, Change: "removed", From: x})
		case x != y:
			out = append(out, ConfigChange{Field: f, Change: "changed", From: x, To: y})
		}
	}
	return out
}

func health(h *v1.HealthConfig) string {
	if h == nil {
		return ""
	}
	s := list(h.Test)
	for _, p := range []struct {
		name string
		v    fmt.Stringer
	}{{"interval", h.Interval}, {"timeout", h.Timeout}, {"start-period", h.StartPeriod}} {
		if p.v.String() != "0s" {
			s += " --" + p.name + "=" + p.v.String()
		}
	}
	if h.Retries != 0 {
		s += fmt.Sprintf(" --retries=%d", h.Retries)
	}
	return s
}
