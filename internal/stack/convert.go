package stack

import (
	"fmt"
	"path"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/docker/go-units"
)

// Defaults berth applies where compose leaves a value unset.
const (
	DefaultSecretMode = 0o400
	DefaultConfigMode = 0o444
	secretsDir        = "/run/secrets"
)

// converter turns a compose-go project into a Stack, collecting the
// warnings for values it cannot honour.
type converter struct {
	p      *types.Project
	lookup func(string) (string, bool)
	warns  []Warning
}

func convert(p *types.Project, lookup func(string) (string, bool)) (*Stack, []Warning, error) {
	c := &converter{p: p, lookup: lookup}
	st := &Stack{Name: p.Name, Dir: p.WorkingDir}
	var err error
	if st.Volumes, err = c.volumes(); err != nil {
		return nil, nil, err
	}
	if st.Secrets, err = c.secrets(); err != nil {
		return nil, nil, err
	}
	if st.Configs, err = c.configs(); err != nil {
		return nil, nil, err
	}
	st.Networks = c.networks()
	byName := map[string]Service{}
	for _, name := range sortedKeys(p.Services) {
		svc, err := c.service(p.Services[name])
		if err != nil {
			return nil, nil, err
		}
		byName[name] = svc
	}
	if err := oneNetwork(st, byName); err != nil {
		return nil, nil, err
	}
	order, err := dependencyOrder(byName)
	if err != nil {
		return nil, nil, err
	}
	for _, name := range order {
		st.Services = append(st.Services, byName[name])
	}
	return st, c.warns, nil
}

func (c *converter) warn(service, field, msg string) {
	c.warns = append(c.warns, Warning{Service: service, Field: field, Message: msg})
}

func (c *converter) service(s types.ServiceConfig) (Service, error) {
	out := Service{
		Name:       s.Name,
		Image:      s.Image,
		User:       s.User,
		WorkingDir: s.WorkingDir,
		Hostname:   s.Hostname,
		ReadOnly:   s.ReadOnly,
		CapAdd:     cloneStrings(s.CapAdd),
		CapDrop:    cloneStrings(s.CapDrop),
		StopSignal: s.StopSignal,
		Labels:     cloneMap(s.Labels),
	}
	fail := func(field, format string, args ...any) error {
		return &fieldError{Path: "services." + s.Name + "." + field, Msg: fmt.Sprintf(format, args...)}
	}
	if s.Hostname != "" && !hostnamePattern.MatchString(s.Hostname) {
		return out, fail("hostname", "%q is not a host name (letters, digits, '-' and '.', at most 63 characters)", s.Hostname)
	}
	if s.Command != nil {
		out.Command = append([]string{}, s.Command...)
	}
	if s.Entrypoint != nil {
		out.Entrypoint = append([]string{}, s.Entrypoint...)
	}
	if s.Build != nil {
		b := &Build{Context: s.Build.Context, Dockerfile: s.Build.Dockerfile, Target: s.Build.Target}
		if img, ok := s.Build.Extensions[extBuildImage].(string); ok {
			v, _ := s.Build.Extensions[extBuildVariant].(string)
			b = &Build{Image: img, Variant: v}
		} else {
			if b.Dockerfile != "" && !path.IsAbs(b.Dockerfile) && !strings.HasPrefix(b.Context, "http") {
				b.Dockerfile = path.Join(b.Context, b.Dockerfile)
			}
			for k, v := range s.Build.Args {
				if v == nil {
					continue
				}
				if b.Args == nil {
					b.Args = map[string]string{}
				}
				b.Args[k] = *v
			}
		}
		out.Build = b
	}

	// Environment: compose-go merged env_file and interpolated; entries
	// left without a value take the variable of the same name, or are
	// dropped like docker does.
	for k, v := range s.Environment {
		if v == nil {
			val, ok := c.lookup(k)
			if !ok {
				continue
			}
			v = &val
		}
		if out.Environment == nil {
			out.Environment = map[string]string{}
		}
		out.Environment[k] = *v
	}

	for i, p := range s.Ports {
		ports, err := convertPort(p)
		if err != nil {
			return out, fail(fmt.Sprintf("ports[%d]", i), "%v", err)
		}
		out.Ports = append(out.Ports, ports...)
	}

	for i, v := range s.Volumes {
		m, ok, err := c.mount(v)
		if err != nil {
			return out, fail(fmt.Sprintf("volumes[%d]", i), "%v", err)
		}
		if ok {
			out.Volumes = append(out.Volumes, m)
		}
	}
	for i, t := range s.Tmpfs {
		m, err := tmpfs(t)
		if err != nil {
			return out, fail(fmt.Sprintf("tmpfs[%d]", i), "%v", err)
		}
		out.Volumes = append(out.Volumes, m)
	}

	if h := s.HealthCheck; h != nil {
		hc := &Healthcheck{
			Test:          cloneStrings(h.Test),
			Interval:      dur(h.Interval),
			Timeout:       dur(h.Timeout),
			StartPeriod:   dur(h.StartPeriod),
			StartInterval: dur(h.StartInterval),
			Disable:       h.Disable,
		}
		if h.Retries != nil {
			hc.Retries = int(*h.Retries)
		}
		if len(hc.Test) > 0 && hc.Test[0] == "NONE" {
			hc.Disable = true
		}
		if len(hc.Test) > 0 && !hc.Disable {
			switch hc.Test[0] {
			case "CMD", "CMD-SHELL":
			case "HTTP", "TCP":
				// berth's probes that need nothing in the image:
				// ["HTTP", "http://:8080/healthz"], ["TCP", ":5432"].
				if len(hc.Test) != 2 {
					return out, fail("healthcheck.test", "%s takes exactly one argument, got %q", hc.Test[0], hc.Test[1:])
				}
			default:
				return out, fail("healthcheck.test", "must start with CMD, CMD-SHELL, HTTP, TCP or NONE, got %q", hc.Test[0])
			}
		}
		out.Healthcheck = hc
	}

	for name, d := range s.DependsOn {
		// compose-go refuses required dependencies on missing services; an
		// optional one on a service a profile left out is simply dropped,
		// so the engine only sees services it runs.
		if _, loaded := c.p.Services[name]; !loaded {
			continue
		}
		if out.DependsOn == nil {
			out.DependsOn = map[string]Dependency{}
		}
		cond := d.Condition
		if cond == "" {
			cond = ConditionStarted
		}
		switch cond {
		case ConditionStarted, ConditionHealthy, ConditionCompleted:
		default:
			return out, fail("depends_on."+name+".condition", "unknown condition %q (service_started, service_healthy or service_completed_successfully)", cond)
		}
		out.DependsOn[name] = Dependency{Condition: cond, Required: d.Required}
	}

	out.Replicas = 1
	switch {
	case s.Deploy != nil && s.Deploy.Replicas != nil:
		out.Replicas = *s.Deploy.Replicas
	case s.Scale != nil:
		out.Replicas = *s.Scale
	}
	if out.Replicas < 0 {
		return out, fail("deploy.replicas", "must not be negative, got %d", out.Replicas)
	}

	out.Limits = Resources{MemoryBytes: int64(s.MemLimit), CPUs: float64(s.CPUS), Pids: s.PidsLimit}
	if s.Deploy != nil && s.Deploy.Resources.Limits != nil {
		l := s.Deploy.Resources.Limits
		if l.MemoryBytes != 0 {
			out.Limits.MemoryBytes = int64(l.MemoryBytes)
		}
		if l.NanoCPUs != 0 {
			out.Limits.CPUs = float64(l.NanoCPUs)
		}
		if l.Pids != 0 {
			out.Limits.Pids = l.Pids
		}
	}
	if out.Limits.MemoryBytes < 0 || out.Limits.CPUs < 0 {
		return out, fail("deploy.resources.limits", "limits must not be negative")
	}
	if out.Limits.Pids < 0 {
		out.Limits.Pids = 0 // compose's -1: unlimited
	}
	// float32 → float64 turns 0.5 into 0.5 but 0.1 into 0.10000000149;
	// round to the nanocpu the kernel gets anyway.
	out.Limits.CPUs = float64(int64(out.Limits.CPUs*1e9+0.5)) / 1e9

	var err error
	if out.Restart, err = restartPolicy(s); err != nil {
		return out, fail("restart", "%v", err)
	}

	targets := map[string]string{} // target → the field that mounts it
	for i, r := range s.Secrets {
		field := fmt.Sprintf("secrets[%d]", i)
		ref, err := fileRef(types.FileReferenceConfig(r), true)
		if err == nil {
			err = claimTarget(targets, ref.Target, field)
		}
		if err != nil {
			return out, fail(field, "%v", err)
		}
		out.Secrets = append(out.Secrets, SecretRef(ref))
	}
	for i, r := range s.Configs {
		field := fmt.Sprintf("configs[%d]", i)
		ref, err := fileRef(types.FileReferenceConfig(r), false)
		if err == nil {
			err = claimTarget(targets, ref.Target, field)
		}
		if err != nil {
			return out, fail(field, "%v", err)
		}
		out.Configs = append(out.Configs, ConfigRef(ref))
	}

	for name := range s.Networks {
		out.Networks = append(out.Networks, name)
	}
	sort.Strings(out.Networks)

	if s.StopGracePeriod != nil {
		out.StopGracePeriod = time.Duration(*s.StopGracePeriod)
	}
	if s.Deploy != nil {
		out.UpdateConfig = updateConfig(s.Deploy.UpdateConfig)
		out.RollbackConfig = updateConfig(s.Deploy.RollbackConfig)
	}
	if v, ok := s.Extensions[extProxy]; ok {
		p, err := parseProxy(v, c.p.WorkingDir)
		if err != nil {
			return out, fail(extProxy, "%v", err)
		}
		out.Proxy = p
	}
	return out, nil
}

// convertPort turns one compose port into berth ports; a published range
// with one target ("8000-8002:80") is not something one container can
// serve, so it is refused.
func convertPort(p types.ServicePortConfig) ([]Port, error) {
	proto := strings.ToLower(p.Protocol)
	if proto == "" {
		proto = "tcp"
	}
	if proto != "tcp" && proto != "udp" {
		return nil, fmt.Errorf("protocol %q not supported (tcp or udp)", p.Protocol)
	}
	if p.Target == 0 || p.Target > 65535 {
		return nil, fmt.Errorf("container port %d out of range 1-65535", p.Target)
	}
	host := 0
	if p.Published != "" {
		n, err := strconv.Atoi(p.Published)
		if err != nil {
			return nil, fmt.Errorf("published port %q: want one port number (ranges only with as many container ports)", p.Published)
		}
		if n < 0 || n > 65535 {
			return nil, fmt.Errorf("published port %d out of range 1-65535", n)
		}
		host = n
	}
	ip := p.HostIP
	if ip == "" {
		ip = "0.0.0.0" // compose's default: every IPv4 address
	}
	return []Port{{HostIP: ip, HostPort: host, ContainerPort: int(p.Target), Protocol: proto}}, nil
}

func (c *converter) mount(v types.ServiceVolumeConfig) (Mount, bool, error) {
	if !path.IsAbs(v.Target) {
		return Mount{}, false, fmt.Errorf("target %q must be an absolute container path", v.Target)
	}
	m := Mount{Type: v.Type, Source: v.Source, Target: path.Clean(v.Target), ReadOnly: v.ReadOnly}
	switch v.Type {
	case types.VolumeTypeVolume:
		if v.Source == "" {
			return m, false, fmt.Errorf("anonymous volume at %s: not supported by berth; name it (a key of the top-level volumes:)", v.Target)
		}
		if _, ok := c.p.Volumes[v.Source]; !ok {
			return m, false, fmt.Errorf("volume %q is not declared under the top-level volumes:", v.Source)
		}
	case types.VolumeTypeBind:
		if !path.IsAbs(v.Source) {
			return m, false, fmt.Errorf("bind source %q must be a path", v.Source)
		}
		m.CreateHostPath = v.Bind != nil && bool(v.Bind.CreateHostPath)
	case types.VolumeTypeTmpfs:
		m.Source = ""
		if v.Tmpfs != nil {
			if v.Tmpfs.Size < 0 {
				return m, false, fmt.Errorf("tmpfs.size %d must not be negative", v.Tmpfs.Size)
			}
			if v.Tmpfs.Mode > 0o7777 {
				return m, false, fmt.Errorf("tmpfs.mode %o out of range (0-07777)", v.Tmpfs.Mode)
			}
			m.TmpfsSize = int64(v.Tmpfs.Size)
			m.TmpfsMode = v.Tmpfs.Mode
		}
	default:
		return m, false, fmt.Errorf("volume type %q not supported by berth (volume, bind or tmpfs)", v.Type)
	}
	return m, true, nil
}

// tmpfs parses a service tmpfs: entry, "/run" or "/run:size=64m,mode=1777".
func tmpfs(spec string) (Mount, error) {
	target, opts, _ := strings.Cut(spec, ":")
	if !path.IsAbs(target) {
		return Mount{}, fmt.Errorf("%q: target must be an absolute container path", spec)
	}
	m := Mount{Type: MountTmpfs, Target: path.Clean(target)}
	for _, o := range strings.Split(opts, ",") {
		if o == "" {
			continue
		}
		k, v, _ := strings.Cut(o, "=")
		switch k {
		case "size":
			n, err := units.RAMInBytes(v)
			if err != nil || n < 0 {
				return m, fmt.Errorf("%q: bad size %q", spec, v)
			}
			m.TmpfsSize = n
		case "mode":
			n, err := strconv.ParseUint(v, 8, 32)
			if err != nil || n > 0o7777 {
				return m, fmt.Errorf("%q: bad mode %q (octal, e.g. 1777)", spec, v)
			}
			m.TmpfsMode = uint32(n)
		case "ro":
			m.ReadOnly = true
		case "rw":
		default:
			return m, fmt.Errorf("%q: option %q not supported by berth (size, mode, ro, rw)", spec, k)
		}
	}
	return m, nil
}

// restartPolicy reads restart:, else deploy.restart_policy.
func restartPolicy(s types.ServiceConfig) (RestartPolicy, error) {
	if s.Restart != "" {
		mode, n, hasN := strings.Cut(s.Restart, ":")
		switch mode {
		case RestartNo, RestartAlways, RestartUnlessStopped:
			if hasN {
				return RestartPolicy{}, fmt.Errorf("%q: only on-failure takes a retry count", s.Restart)
			}
			return RestartPolicy{Mode: mode}, nil
		case RestartOnFailure:
			rp := RestartPolicy{Mode: mode}
			if hasN {
				v, err := strconv.Atoi(n)
				if err != nil || v < 0 {
					return rp, fmt.Errorf("%q: retry count must be a number >= 0", s.Restart)
				}
				rp.MaxRetries = v
			}
			return rp, nil
		}
		return RestartPolicy{}, fmt.Errorf("unknown policy %q (no, always, on-failure[:N], unless-stopped)", s.Restart)
	}
	if s.Deploy != nil && s.Deploy.RestartPolicy != nil {
		rp := s.Deploy.RestartPolicy
		out := RestartPolicy{}
		switch rp.Condition {
		case "none":
			out.Mode = RestartNo
		case "on-failure":
			out.Mode = RestartOnFailure
		case "any", "":
			out.Mode = RestartAlways
		default:
			return out, fmt.Errorf("deploy.restart_policy.condition %q: want none, on-failure or any", rp.Condition)
		}
		if rp.MaxAttempts != nil {
			out.MaxRetries = int(*rp.MaxAttempts)
		}
		return out, nil
	}
	return RestartPolicy{Mode: RestartNo}, nil
}

type ref = struct {
	Source string `json:"source"`
	Target string `json:"target"`
	Mode   uint32 `json:"mode"`
	UID    string `json:"uid,omitempty"`
	GID    string `json:"gid,omitempty"`
}

// fileRef fills in a secret (secret true) or config reference as compose
// does: the target defaults to /run/secrets/<source> or /<source>, a
// relative secret target is a file name in /run/secrets, uid and gid are
// numbers (default 0), the mode defaults to 0400 or 0444. Targets that
// climb out with "..", name a directory of /run/secrets or are / itself
// are refused, as are modes beyond the permission bits.
func fileRef(r types.FileReferenceConfig, secret bool) (ref, error) {
	dir, def := "/", uint32(DefaultConfigMode)
	if secret {
		dir, def = secretsDir, DefaultSecretMode
	}
	out := ref{Source: r.Source, Target: r.Target, Mode: def, UID: r.UID, GID: r.GID}
	if out.Target == "" {
		out.Target = r.Source
	}
	if strings.ContainsAny(out.Target, "\x00\\") || slices.Contains(strings.Split(out.Target, "/"), "..") {
		return out, fmt.Errorf("target %q must not contain \"..\", a backslash or NUL", out.Target)
	}
	if !path.IsAbs(out.Target) {
		if secret && strings.Contains(out.Target, "/") {
			return out, fmt.Errorf("target %q: a relative secret target is a file name in %s", out.Target, secretsDir)
		}
		out.Target = path.Join(dir, out.Target)
	}
	out.Target = path.Clean(out.Target)
	switch {
	case out.Target == "/" || out.Target == secretsDir:
		return out, fmt.Errorf("target %q is a directory; name a file", out.Target)
	case strings.HasPrefix(out.Target, secretsDir+"/") && path.Dir(out.Target) != secretsDir:
		return out, fmt.Errorf("target %q: files under %s must be directly in it", out.Target, secretsDir)
	}
	for _, id := range []struct{ name, v string }{{"uid", r.UID}, {"gid", r.GID}} {
		if id.v == "" {
			continue
		}
		if _, err := strconv.ParseUint(id.v, 10, 32); err != nil {
			return out, fmt.Errorf("%s %q must be a numeric id", id.name, id.v)
		}
	}
	if r.Mode != nil {
		if *r.Mode <= 0 || *r.Mode > 0o777 {
			return out, fmt.Errorf("mode %#o: want permission bits between 0001 and 0777", *r.Mode)
		}
		out.Mode = uint32(*r.Mode)
	}
	return out, nil
}

// claimTarget records that field mounts a file at target, refusing a
// second mount of the same path.
func claimTarget(claimed map[string]string, target, field string) error {
	if other, ok := claimed[target]; ok {
		return fmt.Errorf("target %s is already mounted by %s", target, other)
	}
	claimed[target] = field
	return nil
}

// hostnamePattern is an RFC 1123 host name short enough for the kernel
// (64 bytes with the NUL).
var hostnamePattern = regexp.MustCompile(`^[a-zA-Z0-9]([a-zA-Z0-9.-]{0,61}[a-zA-Z0-9])?$`)

func updateConfig(u *types.UpdateConfig) *UpdateConfig {
	if u == nil {
		return nil
	}
	return &UpdateConfig{
		Parallelism:     u.Parallelism,
		Delay:           time.Duration(u.Delay),
		FailureAction:   u.FailureAction,
		Monitor:         time.Duration(u.Monitor),
		MaxFailureRatio: float64(u.MaxFailureRatio),
		Order:           u.Order,
	}
}

func (c *converter) volumes() (map[string]Volume, error) {
	out := map[string]Volume{}
	for k, v := range c.p.Volumes {
		out[k] = Volume{Name: v.Name, External: bool(v.External)}
	}
	return nilIfEmpty(out), nil
}

// oneNetwork refuses what berth's networking cannot honour: it gives each
// stack one bridge, with a route outside, that every service joins.
func oneNetwork(st *Stack, services map[string]Service) error {
	for _, k := range sortedKeys(st.Networks) {
		n := st.Networks[k]
		switch {
		case n.External:
			return &fieldError{Path: "networks." + k + ".external", Msg: "not supported by berth: each stack gets a network of its own"}
		case n.Internal:
			return &fieldError{Path: "networks." + k + ".internal", Msg: "not supported by berth: a stack's network always has a route outside the host"}
		}
	}
	first, firstSvc := "", ""
	for _, name := range sortedKeys(services) {
		nets := services[name].Networks
		if len(nets) == 0 {
			nets = []string{"default"}
		}
		for _, n := range nets {
			if first == "" {
				first, firstSvc = n, name
				continue
			}
			if n != first {
				return &fieldError{Path: "services." + name + ".networks", Msg: fmt.Sprintf(
					"joins %s, but %s joins %s: berth puts all of a stack's services on one network, so it cannot keep networks apart", n, firstSvc, first)}
			}
		}
	}
	return nil
}

func (c *converter) networks() map[string]Network {
	out := map[string]Network{}
	for k, n := range c.p.Networks {
		out[k] = Network{Name: n.Name, External: bool(n.External), Internal: n.Internal}
	}
	return nilIfEmpty(out)
}

func (c *converter) secrets() (map[string]Secret, error) {
	out := map[string]Secret{}
	for k, s := range c.p.Secrets {
		switch {
		case bool(s.External):
			return nil, &fieldError{Path: "secrets." + k, Msg: "external secrets are not supported (berth has no secret store); use file: or environment:"}
		case s.Environment != "":
			// The daemon keeps each container's spec on disk to restart it,
			// so a value carried in the spec would land in a state file.
			return nil, &fieldError{Path: "secrets." + k + ".environment", Msg: "not supported by berth: a secret's value must come from a file (file:), which the daemon reads when it starts a container and keeps only in memory"}
		case s.File == "":
			return nil, &fieldError{Path: "secrets." + k, Msg: "needs file:"}
		}
		out[k] = Secret{Name: s.Name, File: s.File, Environment: s.Environment}
	}
	return nilIfEmpty(out), nil
}

func (c *converter) configs() (map[string]Config, error) {
	out := map[string]Config{}
	for k, s := range c.p.Configs {
		if s.External {
			return nil, &fieldError{Path: "configs." + k, Msg: "external configs are not supported; use file:, environment: or content:"}
		}
		if s.File == "" && s.Environment == "" && s.Content == "" {
			return nil, &fieldError{Path: "configs." + k, Msg: "needs file:, environment: or content:"}
		}
		cfg := Config{Name: s.Name, File: s.File, Environment: s.Environment, Content: s.Content}
		if cfg.Environment != "" && cfg.Content == "" {
			// compose-go fills content: from the environment it was given;
			// berth.yaml's vars and --set come through lookup.
			v, ok := c.lookup(cfg.Environment)
			if !ok {
				return nil, &fieldError{Path: "configs." + k + ".environment", Msg: fmt.Sprintf("variable %s is not set", cfg.Environment)}
			}
			cfg.Content = v
		}
		out[k] = cfg
	}
	return nilIfEmpty(out), nil
}

func dur(d *types.Duration) time.Duration {
	if d == nil {
		return 0
	}
	return time.Duration(*d)
}

func cloneStrings(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return append([]string(nil), s...)
}

func cloneMap[M ~map[string]string](m M) map[string]string {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func nilIfEmpty[V any](m map[string]V) map[string]V {
	if len(m) == 0 {
		return nil
	}
	return m
}
