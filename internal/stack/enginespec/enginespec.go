// Package enginespec converts a loaded stack (internal/stack) into what the
// engine runs (model.StackSpec). It sits beside internal/stack so that
// neither stack nor engine imports the other.
package enginespec

import (
	"fmt"
	"maps"
	"path"
	"slices"
	"strconv"

	"github.com/berth-dev/berth/internal/model"
	"github.com/berth-dev/berth/internal/signals"
	"github.com/berth-dev/berth/internal/stack"
)

// FromStack converts a loaded stack into what the engine runs. Every field
// of a service is carried over or refused here, never dropped: the stack
// loader has already refused what berth cannot honour.
func FromStack(st *stack.Stack) (model.StackSpec, error) {
	spec := model.StackSpec{Name: st.Name}
	for _, s := range st.Services {
		svc, err := serviceSpec(st, s)
		if err != nil {
			return spec, fmt.Errorf("service %s: %w", s.Name, err)
		}
		spec.Services = append(spec.Services, svc)
	}
	return spec, nil
}
func serviceSpec(st *stack.Stack, s stack.Service) (model.ServiceSpec, error) {
	if s.Image == "" {
		return model.ServiceSpec{}, fmt.Errorf("no image and nothing to build")
	}
	pol, err := model.ParseRestartPolicy(s.Restart.Mode)
	if err != nil {
		return model.ServiceSpec{}, err
	}
	pol.MaxRetries = s.Restart.MaxRetries
	svc := model.ServiceSpec{
		Name: s.Name, Image: s.Image, Command: s.Command, Entrypoint: s.Entrypoint, Env: s.Environment,
		User: s.User, WorkingDir: s.WorkingDir, Hostname: s.Hostname, Labels: s.Labels, Restart: pol, Replicas: s.Replicas,
		MemoryBytes: s.Limits.MemoryBytes, CPUs: s.Limits.CPUs, Pids: s.Limits.Pids,
		ReadOnly: s.ReadOnly, CapAdd: s.CapAdd, CapDrop: s.CapDrop, StopTimeout: s.StopGracePeriod,
		DependsOn: map[string]string{},
	}
	if s.StopSignal != "" {
		sig, err := signals.Parse(s.StopSignal)
		if err != nil {
			return svc, fmt.Errorf("stop_signal: %w", err)
		}
		svc.StopSignal = sig
	}
	for _, p := range s.Ports {
		svc.Ports = append(svc.Ports, model.PortMapping{HostIP: p.HostIP, HostPort: p.HostPort, ContainerPort: p.ContainerPort, Protocol: p.Protocol})
	}
	for i, m := range s.Volumes {
		em := model.Mount{Type: m.Type, Source: m.Source, Target: m.Target, ReadOnly: m.ReadOnly,
			CreateHostPath: m.CreateHostPath, TmpfsSize: m.TmpfsSize, TmpfsMode: m.TmpfsMode}
		if m.Type == stack.MountVolume {
			v, ok := st.Volumes[m.Source]
			if !ok {
				return svc, fmt.Errorf("volumes[%d]: volume %q is not declared under the top-level volumes:", i, m.Source)
			}
			em.Source, em.External = v.Name, v.External
		}
		svc.Mounts = append(svc.Mounts, em)
	}
	for i, ref := range s.Secrets {
		sec, ok := st.Secrets[ref.Source]
		if !ok || sec.File == "" {
			return svc, fmt.Errorf("secrets[%d]: secret %s: only secrets from a file (file:) are supported", i, ref.Source)
		}
		uid, gid, err := ids(ref.UID, ref.GID)
		if err != nil {
			return svc, fmt.Errorf("secrets[%d]: %w", i, err)
		}
		target := ref.Target
		if path.Dir(target) == "/run/secrets" {
			target = path.Base(target) // the /run/secrets directory
		}
		svc.Secrets = append(svc.Secrets, model.Secret{Name: ref.Source, Target: target, File: sec.File, UID: uid, GID: gid, Mode: ref.Mode})
	}
	for i, ref := range s.Configs {
		cfg, ok := st.Configs[ref.Source]
		if !ok {
			return svc, fmt.Errorf("configs[%d]: config %s is not declared under the top-level configs:", i, ref.Source)
		}
		if cfg.File == "" && cfg.Content == "" && cfg.Environment != "" {
			return svc, fmt.Errorf("configs[%d]: config %s: variable %s is not set", i, ref.Source, cfg.Environment)
		}
		uid, gid, err := ids(ref.UID, ref.GID)
		if err != nil {
			return svc, fmt.Errorf("configs[%d]: %w", i, err)
		}
		svc.Configs = append(svc.Configs, model.Config{Name: ref.Source, Target: ref.Target, File: cfg.File, Content: cfg.Content,
			UID: uid, GID: gid, Mode: ref.Mode})
	}
	if h := s.Healthcheck; h != nil {
		test := h.Test
		if h.Disable {
			test = []string{"NONE"}
		}
		svc.Health = &model.HealthCheck{Test: test, Interval: h.Interval, Timeout: h.Timeout, StartPeriod: h.StartPeriod,
			StartInterval: h.StartInterval, Retries: h.Retries}
	}
	for _, dep := range slices.Sorted(maps.Keys(s.DependsOn)) {
		d := s.DependsOn[dep]
		svc.DependsOn[dep] = d.Condition
		if !d.Required {
			svc.OptionalDeps = append(svc.OptionalDeps, dep)
		}
	}
	if p := s.Proxy; p != nil {
		svc.Proxy = &model.ProxyOptions{Protocol: p.Protocol, Hosts: p.Hosts, Balance: p.Balance,
			DrainTimeout: p.DrainTimeout, TLSCert: p.TLSCert, TLSKey: p.TLSKey,
			TLSAuto: p.TLSAuto, NoRedirect: p.NoRedirect, HSTS: p.HSTS, BackendProtocol: p.BackendProtocol}
		if t := p.Timeouts; t != nil {
			svc.Proxy.Timeouts = model.ProxyTimeouts{ReadBody: t.ReadBody, ResponseHeader: t.ResponseHeader, Write: t.Write}
		}
		// The stack's acme: travels with each tls: auto service (the
		// routes it makes); its roots go as PEM, the daemon may be remote.
		if a := st.ACME; a != nil && p.TLSAuto {
			svc.Proxy.ACME = &model.ACMESettings{Directory: a.Directory, Email: a.Email, CARoots: a.CARootsPEM,
				Challenge: a.Challenge, RenewBefore: a.RenewBefore}
		}
	}
	svc.Update, svc.Rollback = updateConfig(s.UpdateConfig), updateConfig(s.RollbackConfig)
	return svc, nil
}

// ids parses a secret's or config's uid and gid ("" = 0, root).
func ids(uid, gid string) (u, g uint32, err error) {
	for _, f := range []struct {
		name, v string
		out     *uint32
	}{{"uid", uid, &u}, {"gid", gid, &g}} {
		if f.v == "" {
			continue
		}
		n, err := strconv.ParseUint(f.v, 10, 32)
		if err != nil {
			return 0, 0, fmt.Errorf("%s %q must be a numeric id", f.name, f.v)
		}
		*f.out = uint32(n)
	}
	return u, g, nil
}

func updateConfig(u *stack.UpdateConfig) *model.UpdateConfig {
	if u == nil {
		return nil
	}
	return &model.UpdateConfig{Parallelism: u.Parallelism, Delay: u.Delay, FailureAction: u.FailureAction,
		Monitor: u.Monitor, MaxFailureRatio: u.MaxFailureRatio, Order: u.Order}
}
