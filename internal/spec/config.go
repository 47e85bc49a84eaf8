package spec

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v4"
)

var (
	configFields      = []string{"env", "entrypoint", "cmd", "workdir", "user", "stopSignal", "ports", "volumes", "labels", "annotations", "healthcheck"}
	healthcheckFields = []string{"test", "interval", "timeout", "startPeriod", "startInterval", "retries"}
)

func (l *loader) config(n *yaml.Node, path string) Config {
	d := l.d
	var c Config
	fs, ok := d.fields(n, path, configFields...)
	if !ok {
		return c
	}
	if v := fs["env"]; v != nil {
		c.Set |= FieldEnv
		c.Env = l.envMap(v, join(path, "env"))
	}
	if v := fs["entrypoint"]; v != nil {
		c.Set |= FieldEntrypoint
		c.Entrypoint, _ = d.strList(v, join(path, "entrypoint"))
	}
	if v := fs["cmd"]; v != nil {
		c.Set |= FieldCmd
		c.Cmd, _ = d.strList(v, join(path, "cmd"))
	}
	if v := fs["workdir"]; v != nil {
		c.Set |= FieldWorkdir
		c.Workdir = l.imagePath(v, join(path, "workdir"))
	}
	if v := fs["user"]; v != nil {
		c.Set |= FieldUser
		if s, ok := d.str(v, join(path, "user")); ok {
			if err := checkUser(s); err != nil {
				d.errf(v, join(path, "user"), "%v", err)
			}
			c.User = s
		}
	}
	if v := fs["stopSignal"]; v != nil {
		c.Set |= FieldStopSignal
		if s, ok := d.str(v, join(path, "stopSignal")); ok {
			if err := checkSignal(s); err != nil {
				d.errf(v, join(path, "stopSignal"), "%v", err)
			}
			c.StopSignal = s
		}
	}
	if v := fs["ports"]; v != nil {
		c.Set |= FieldPorts
		c.Ports = []string{}
		for i, it := range d.seq(v, join(path, "ports")) {
			ipath := index(join(path, "ports"), i)
			s, ok := d.str(it, ipath)
			if !ok {
				continue
			}
			ps, err := parsePorts(s)
			if err != nil {
				d.errf(it, ipath, "%v", err)
				continue
			}
			c.Ports = append(c.Ports, ps...)
		}
		c.Ports = sortPorts(c.Ports)
	}
	if v := fs["volumes"]; v != nil {
		c.Set |= FieldVolumes
		c.Volumes = []string{}
		for i, it := range d.seq(v, join(path, "volumes")) {
			s := l.imagePath(it, index(join(path, "volumes"), i))
			if s != "" && !slices.Contains(c.Volumes, s) {
				c.Volumes = append(c.Volumes, s)
			}
		}
	}
	if v := fs["labels"]; v != nil {
		c.Set |= FieldLabels
		c.Labels = l.keyedMap(v, join(path, "labels"))
	}
	if v := fs["annotations"]; v != nil {
		c.Set |= FieldAnnotations
		c.Annotations = l.keyedMap(v, join(path, "annotations"))
	}
	if v := fs["healthcheck"]; v != nil {
		c.Set |= FieldHealthcheck
		c.Healthcheck = l.healthcheck(v, join(path, "healthcheck"))
	}
	return c
}

// envMap decodes env: as a mapping or as a list of "KEY=VALUE" (compose
// accepts both).
func (l *loader) envMap(n *yaml.Node, path string) map[string]string {
	d := l.d
	out := map[string]string{}
	r := d.resolve(n, path)
	if r == nil {
		return out
	}
	if r.Kind == yaml.SequenceNode {
		for i, it := range r.Content {
			ipath := index(path, i)
			s, ok := d.str(it, ipath)
			if !ok {
				continue
			}
			k, v, found := strings.Cut(s, "=")
			if !found {
				d.errf(it, ipath, "expected KEY=VALUE, got %q", s)
				continue
			}
			if err := checkEnvName(k); err != nil {
				d.errf(it, ipath, "%v", err)
				continue
			}
			out[k] = v
		}
		return out
	}
	for _, p := range d.pairs(r, path) {
		if err := checkEnvName(p.key); err != nil {
			d.errf(p.kNode, join(path, p.key), "%v", err)
			continue
		}
		if v, ok := d.str(p.value, join(path, p.key)); ok {
			if strings.ContainsRune(v, 0) {
				d.errf(p.value, join(path, p.key), "value contains a NUL byte")
			}
			out[p.key] = v
		}
	}
	return out
}

// keyedMap decodes labels/annotations: keys must be non-empty.
func (l *loader) keyedMap(n *yaml.Node, path string) map[string]string {
	out := map[string]string{}
	for _, p := range l.d.pairs(n, path) {
		if strings.TrimSpace(p.key) == "" {
			l.d.errf(p.kNode, path, "keys must not be empty")
			continue
		}
		if v, ok := l.d.str(p.value, join(path, p.key)); ok {
			out[p.key] = v
		}
	}
	return out
}

var userSpecRE = regexp.MustCompile(`^[^:\s]+(:[^:\s]+)?$`)

// checkUser validates "user", "uid", "user:group" or "uid:gid".
func checkUser(s string) error {
	if !userSpecRE.MatchString(s) {
		return fmt.Errorf("invalid user %q: expected user, uid, user:group or uid:gid", s)
	}
	return nil
}

func (l *loader) healthcheck(n *yaml.Node, path string) *Healthcheck {
	d := l.d
	fs, ok := d.fields(n, path, healthcheckFields...)
	if !ok {
		return nil
	}
	h := &Healthcheck{}
	if v := fs["test"]; v == nil {
		d.errf(n, path, "missing field \"test\" (e.g. [CMD, /app/web, -healthcheck] or [NONE])")
	} else if test, ok := d.strList(v, join(path, "test")); ok {
		if err := checkHealthTest(test); err != nil {
			d.errf(v, join(path, "test"), "%v", err)
		}
		h.Test = test
	}
	for _, f := range []struct {
		name string
		dst  *time.Duration
	}{{"interval", &h.Interval}, {"timeout", &h.Timeout}, {"startPeriod", &h.StartPeriod}, {"startInterval", &h.StartInterval}} {
		v := fs[f.name]
		if v == nil {
			continue
		}
		s, ok := d.str(v, join(path, f.name))
		if !ok {
			continue
		}
		dur, err := parseHealthDuration(s)
		if err != nil {
			d.errf(v, join(path, f.name), "%v", err)
			continue
		}
		*f.dst = dur
	}
	if v := fs["retries"]; v != nil {
		if r, ok := d.integer(v, join(path, "retries"), 0, 1<<31-1); ok {
			h.Retries = int(r)
		}
	}
	return h
}

// checkHealthTest validates Docker's healthcheck test forms.
func checkHealthTest(test []string) error {
	if len(test) == 0 {
		return fmt.Errorf("must not be empty: use [NONE] to disable an inherited healthcheck")
	}
	switch test[0] {
	case "NONE":
		if len(test) != 1 {
			return fmt.Errorf("[NONE] takes no arguments")
		}
	case "CMD":
		if len(test) < 2 {
			return fmt.Errorf("[CMD, ...] needs a command, e.g. [CMD, /app/web, -healthcheck]")
		}
	case "CMD-SHELL":
		if len(test) != 2 {
			return fmt.Errorf("[CMD-SHELL, command] takes exactly one shell command string")
		}
	default:
		return fmt.Errorf("must start with NONE, CMD or CMD-SHELL, got %q", test[0])
	}
	return nil
}

// parseHealthDuration parses a Go duration ("10s", "1m30s"). Docker refuses
// durations under 1ms other than 0 (which means "default").
func parseHealthDuration(s string) (time.Duration, error) {
	v, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil {
		return 0, fmt.Errorf("invalid duration %q: expected e.g. 10s, 1m30s", s)
	}
	if v < 0 {
		return 0, fmt.Errorf("duration %q must not be negative", s)
	}
	if v > 0 && v < time.Millisecond {
		return 0, fmt.Errorf("duration %q must be at least 1ms (or 0 for the default)", s)
	}
	return v, nil
}

// Merge returns c with over applied on top, the way a variant's config
// applies to its image's: env, labels and annotations merge key by key;
// every other field that over sets replaces c's. Set is the union. The
// result shares no maps or slices with either input.
func (c Config) Merge(over Config) Config {
	out := c.clone()
	o := over.clone()
	mergeMap := func(f ConfigField, dst *map[string]string, src map[string]string) {
		if !o.Has(f) {
			return
		}
		if *dst == nil {
			*dst = map[string]string{}
		}
		maps.Copy(*dst, src)
	}
	mergeMap(FieldEnv, &out.Env, o.Env)
	mergeMap(FieldLabels, &out.Labels, o.Labels)
	mergeMap(FieldAnnotations, &out.Annotations, o.Annotations)
	if o.Has(FieldEntrypoint) {
		out.Entrypoint = o.Entrypoint
	}
	if o.Has(FieldCmd) {
		out.Cmd = o.Cmd
	}
	if o.Has(FieldWorkdir) {
		out.Workdir = o.Workdir
	}
	if o.Has(FieldUser) {
		out.User = o.User
	}
	if o.Has(FieldStopSignal) {
		out.StopSignal = o.StopSignal
	}
	if o.Has(FieldPorts) {
		out.Ports = o.Ports
	}
	if o.Has(FieldVolumes) {
		out.Volumes = o.Volumes
	}
	if o.Has(FieldHealthcheck) {
		out.Healthcheck = o.Healthcheck
	}
	out.Set |= o.Set
	return out
}

func (c Config) clone() Config {
	out := c
	out.Env = maps.Clone(c.Env)
	out.Labels = maps.Clone(c.Labels)
	out.Annotations = maps.Clone(c.Annotations)
	out.Entrypoint = slices.Clone(c.Entrypoint)
	out.Cmd = slices.Clone(c.Cmd)
	out.Ports = slices.Clone(c.Ports)
	out.Volumes = slices.Clone(c.Volumes)
	if c.Healthcheck != nil {
		h := *c.Healthcheck
		h.Test = slices.Clone(h.Test)
		out.Healthcheck = &h
	}
	return out
}
