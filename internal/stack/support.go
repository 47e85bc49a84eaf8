package stack

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/tree"
	"github.com/compose-spec/compose-go/v2/types"
)

// supported lists every compose attribute berth implements, as compose-go
// paths of the canonical (long-syntax) model. It is an allowlist on
// purpose: an attribute compose adds later is reported until berth wires
// it in, never silently ignored.
var supported = []string{
	"name", "version", "services", "services.*",
	"include", "include.[].path", "include.[].env_file", "include.[].project_directory",

	"services.*.image", "services.*.profiles",
	"services.*.build", "services.*.build.context", "services.*.build.dockerfile",
	"services.*.build.args", "services.*.build.args.*", "services.*.build.target",
	"services.*.command", "services.*.entrypoint",
	"services.*.environment", "services.*.environment.*",
	"services.*.env_file", "services.*.env_file.[].path", "services.*.env_file.[].required", "services.*.env_file.[].format",
	"services.*.user", "services.*.working_dir", "services.*.hostname",
	"services.*.ports", "services.*.ports.[].target", "services.*.ports.[].published",
	"services.*.ports.[].host_ip", "services.*.ports.[].protocol", "services.*.ports.[].mode",
	"services.*.volumes", "services.*.volumes.[].type", "services.*.volumes.[].source",
	"services.*.volumes.[].target", "services.*.volumes.[].read_only",
	"services.*.volumes.[].bind", "services.*.volumes.[].bind.create_host_path",
	"services.*.volumes.[].volume", "services.*.volumes.[].tmpfs",
	"services.*.volumes.[].tmpfs.size", "services.*.volumes.[].tmpfs.mode",
	"services.*.tmpfs",
	"services.*.healthcheck", "services.*.healthcheck.test", "services.*.healthcheck.interval",
	"services.*.healthcheck.timeout", "services.*.healthcheck.retries", "services.*.healthcheck.start_period",
	"services.*.healthcheck.start_interval", "services.*.healthcheck.disable",
	"services.*.depends_on", "services.*.depends_on.*", "services.*.depends_on.*.condition",
	"services.*.depends_on.*.required", "services.*.depends_on.*.restart",
	"services.*.scale", "services.*.restart",
	"services.*.deploy", "services.*.deploy.mode", "services.*.deploy.replicas",
	"services.*.deploy.resources", "services.*.deploy.resources.limits",
	"services.*.deploy.resources.limits.cpus", "services.*.deploy.resources.limits.memory",
	"services.*.deploy.resources.limits.pids",
	"services.*.deploy.restart_policy", "services.*.deploy.restart_policy.condition",
	"services.*.deploy.restart_policy.max_attempts",
	"services.*.mem_limit", "services.*.cpus", "services.*.pids_limit",
	"services.*.secrets", "services.*.secrets.[].source", "services.*.secrets.[].target",
	"services.*.secrets.[].uid", "services.*.secrets.[].gid", "services.*.secrets.[].mode",
	"services.*.configs", "services.*.configs.[].source", "services.*.configs.[].target",
	"services.*.configs.[].uid", "services.*.configs.[].gid", "services.*.configs.[].mode",
	"services.*.read_only", "services.*.cap_add", "services.*.cap_drop",
	"services.*.networks", "services.*.networks.*",
	"services.*.labels", "services.*.labels.*", "services.*.label_file",
	"services.*.stop_signal", "services.*.stop_grace_period",

	"volumes", "volumes.*", "volumes.*.name", "volumes.*.external", "volumes.*.external.name",
	"volumes.*.driver",
	"networks", "networks.*", "networks.*.name", "networks.*.external", "networks.*.external.name",
	"networks.*.internal", "networks.*.driver",
	"secrets", "secrets.*", "secrets.*.name", "secrets.*.file", "secrets.*.environment",
	"configs", "configs.*", "configs.*.name", "configs.*.file", "configs.*.environment", "configs.*.content",

	"services.*.deploy.update_config", "services.*.deploy.update_config.parallelism",
	"services.*.deploy.update_config.delay", "services.*.deploy.update_config.failure_action",
	"services.*.deploy.update_config.monitor", "services.*.deploy.update_config.max_failure_ratio",
	"services.*.deploy.update_config.order",
	"services.*.deploy.rollback_config", "services.*.deploy.rollback_config.parallelism",
	"services.*.deploy.rollback_config.delay", "services.*.deploy.rollback_config.failure_action",
	"services.*.deploy.rollback_config.monitor", "services.*.deploy.rollback_config.max_failure_ratio",
	"services.*.deploy.rollback_config.order",
}

// unsupportedValues are supported attributes with values berth does not
// implement: the value decides.
var unsupportedValues = []struct {
	path string
	bad  func(any) bool
	msg  string
}{
	{"services.*.deploy.mode", func(v any) bool { return v != "replicated" }, "only replicated services are supported (berth runs on one host)"},
	{"services.*.depends_on.*.restart", func(v any) bool { return v == true }, "restarting dependents when a dependency restarts is not supported"},
	{"volumes.*.driver", func(v any) bool { return v != "local" && v != "" }, "only the local volume driver is supported"},
	{"networks.*.driver", func(v any) bool { return v != "bridge" && v != "" }, "only bridge networks are supported"},
	{"services.*.ports.[].mode", func(v any) bool { return v != "ingress" && v != "host" }, "unknown port mode"},
}

// messages explain why some common attributes have no effect.
var messages = map[string]string{
	"expose":           "ignored: every port of a container is reachable from the stack's network",
	"container_name":   "ignored: berth names containers <stack>-<service>-<n>",
	"privileged":       "not supported: berth does not run privileged containers",
	"network_mode":     "not supported: services join the stack's networks",
	"logging":          "ignored: berth keeps JSON-lines logs with rotation",
	"deploy.placement": "ignored: berth runs on one host",
}

// restricting are unsupported service attributes that limit or confine a
// container. Ignoring one would run the service with less confinement than
// the file asks for, so they are refused, not warned about.
var restricting = map[string]bool{
	"ulimits": true, "security_opt": true, "sysctls": true, "memswap_limit": true, "mem_swappiness": true,
	"cpu_shares": true, "cpu_quota": true, "cpu_period": true, "cpuset": true, "cpu_count": true, "cpu_percent": true,
	"cpu_rt_runtime": true, "cpu_rt_period": true, "blkio_config": true, "storage_opt": true, "oom_score_adj": true,
	"userns_mode": true, "cgroup_parent": true, "device_cgroup_rules": true, "shm_size": true,
	"deploy.resources.limits.devices": true,
}

// refused splits off the warnings about restricting attributes, as one
// error naming each.
func refused(file string, ws []Warning) ([]Warning, error) {
	var keep []Warning
	var bad []string
	for _, w := range ws {
		field := w.Field
		if i := strings.IndexAny(field, ".["); i >= 0 && !restricting[field] {
			field = field[:i]
		}
		if w.Service != "" && restricting[field] {
			bad = append(bad, "services."+w.Service+"."+w.Field)
			continue
		}
		keep = append(keep, w)
	}
	if len(bad) == 0 {
		return ws, nil
	}
	return keep, fmt.Errorf("%s: %s: not supported by berth, and ignoring it would run the service with fewer limits than the file sets; remove it", file, strings.Join(bad, ", "))
}

// supportCheck gathers compose-go's unsupported-attribute findings during
// a load.
type supportCheck struct {
	found []loader.UnsupportedAttribute
}

func newSupportCheck() *supportCheck { return &supportCheck{} }

func (c *supportCheck) option() func(*loader.Options) {
	paths := make([]tree.Path, len(supported))
	for i, p := range supported {
		paths[i] = tree.Path(p)
	}
	var patterns []loader.UnsupportedAttributePattern
	for _, u := range unsupportedValues {
		patterns = append(patterns, loader.UnsupportedAttributePattern{Path: tree.Path(u.path), Detect: u.bad})
	}
	report := func(found []loader.UnsupportedAttribute) { c.found = append(c.found, found...) }
	return func(o *loader.Options) {
		loader.WithUnsupportedAttributesCheck(patterns, report)(o)
		loader.WithSupportedAttributes(paths, nil)(o)
	}
}

// warnings turns the findings into Warnings, one per attribute (list
// items collapse into one), leaving out services that profiles disabled.
func (c *supportCheck) warnings(p *types.Project) []Warning {
	seen := map[string]bool{}
	var out []Warning
	for _, f := range c.found {
		parts := f.Path.Parts()
		var w Warning
		if len(parts) >= 3 && parts[0] == "services" {
			if _, active := p.Services[parts[1]]; !active {
				continue
			}
			w.Service = parts[1]
			w.Field = fieldPath(parts[2:])
		} else {
			w.Field = fieldPath(parts)
		}
		key := w.Service + "\x00" + w.Field
		if seen[key] {
			continue
		}
		seen[key] = true
		w.Message = warningMessage(f.Path.String(), w)
		out = append(out, w)
	}
	return out
}

// fieldPath renders path parts as "ports[].app_protocol".
func fieldPath(parts []string) string {
	var b strings.Builder
	for i, p := range parts {
		if p == tree.PathMatchList {
			b.WriteString("[]")
			continue
		}
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(p)
	}
	return b.String()
}

func warningMessage(full string, w Warning) string {
	for _, u := range unsupportedValues {
		if tree.Path(full).Matches(tree.Path(u.path)) {
			return u.msg
		}
	}
	if m, ok := messages[w.Field]; ok && w.Service != "" {
		return m
	}
	return "not supported by berth; ignored"
}

func sortWarnings(ws []Warning) {
	sort.SliceStable(ws, func(i, j int) bool {
		if ws[i].Service != ws[j].Service {
			return ws[i].Service < ws[j].Service
		}
		return ws[i].Field < ws[j].Field
	})
}

// FormatWarnings renders warnings as one message (what the CLI prints once),
// or "" when there are none.
func FormatWarnings(ws []Warning) string {
	if len(ws) == 0 {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "warning: %d attribute(s) not supported by berth, ignored:", len(ws))
	for _, w := range ws {
		b.WriteString("\n  ")
		b.WriteString(w.String())
	}
	return b.String()
}

// SupportedAttributes lists every compose attribute berth implements, as
// compose-go paths ("services.*.ports.[].target"): what docs that map
// each field (docs/kubernetes.md) are checked against.
func SupportedAttributes() []string { return slices.Clone(supported) }
