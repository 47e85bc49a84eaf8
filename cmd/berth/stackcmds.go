package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/internal/engine"
	"github.com/berth-dev/berth/internal/engine/api"
	"github.com/berth-dev/berth/internal/engine/health"
	"github.com/berth-dev/berth/internal/engine/logs"
	"github.com/berth-dev/berth/internal/imageref"
	"github.com/berth-dev/berth/internal/model"
	"github.com/berth-dev/berth/internal/signals"
	"github.com/berth-dev/berth/internal/spec"
	"github.com/berth-dev/berth/internal/stack"
)

// stackFlags are shared by the commands that read a stack file.
type stackFlags struct {
	files   []string
	env     string
	project string
	set     []string
	socket  string
}

func (f *stackFlags) add(cmd *cobra.Command) {
	f.addFile(cmd, "f")
	f.addRest(cmd)
}

// addFile registers --file (with shorthand, unless "" because -f means
// something else, as in `logs -f`).
func (f *stackFlags) addFile(cmd *cobra.Command, short string) {
	cmd.Flags().StringArrayVarP(&f.files, "file", short, nil, "berth.yaml or compose file (default: berth.yaml, compose.yaml, docker-compose.yml in this directory)")
}

func (f *stackFlags) addRest(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.env, "env", "", "berth.yaml environment to apply (environments: NAME)")
	cmd.Flags().StringVarP(&f.project, "project-name", "p", "", "stack name (default: from the file or its directory)")
	cmd.Flags().StringArrayVar(&f.set, "set", nil, "set a variable: --set KEY=VALUE")
	addSocketFlag(cmd, &f.socket)
}

func (f *stackFlags) load(ctx context.Context, stderr io.Writer) (*stack.Stack, error) {
	set, err := parseSet(f.set)
	if err != nil {
		return nil, err
	}
	st, warns, err := stack.Load(ctx, stack.LoadOptions{Files: f.files, Env: f.env, ProjectName: f.project, Set: set})
	if err != nil {
		return nil, err
	}
	if len(warns) > 0 {
		fmt.Fprintln(stderr, stack.FormatWarnings(warns))
	}
	return st, nil
}

// buildServiceImages builds, with `berth build`, the images that services
// name with build: (an image of berth.yaml's images:), into an OCI layout in
// the cache, and points the services at them. The daemon loads them from
// there (same host).
// stackName is -p, else the name of the stack the file describes.
func (f *stackFlags) stackName(cmd *cobra.Command) (string, error) {
	if f.project != "" {
		return f.project, nil
	}
	st, err := f.load(cmd.Context(), cmd.ErrOrStderr())
	if err != nil {
		return "", err
	}
	return st.Name, nil
}

// envTarget is where --env's images live (environments: NAME: registry,
// repository); purpose ends the error when it has no registry.
func (f *stackFlags) envTarget(st *stack.Stack, purpose string) (stack.Target, error) {
	set, err := parseSet(f.set)
	if err != nil {
		return stack.Target{}, err
	}
	targets, err := stack.LoadTargets(st.Files[0], stack.LoadOptions{Files: f.files, Env: f.env, ProjectName: f.project, Set: set})
	if err != nil {
		return stack.Target{}, err
	}
	t, ok := targets[f.env]
	if !ok || t.Registry == "" {
		return stack.Target{}, fmt.Errorf("%s: environments.%s has no registry: %s", st.Files[0], f.env, purpose)
	}
	return t, nil
}

func (f *stackFlags) buildServiceImages(ctx context.Context, st *stack.Stack, progress io.Writer) error {
	return f.buildServiceImagesTo(ctx, st, progress, nil)
}

// buildServiceImagesTo is buildServiceImages with another destination:
// dest(image, variant) names the reference to push to ("" = the local
// layout). Services then name what was pushed by digest, so what runs is
// exactly what was built.
func (f *stackFlags) buildServiceImagesTo(ctx context.Context, st *stack.Stack, progress io.Writer, dest func(image, variant string) string) error {
	var file *spec.File
	built := map[string]string{} // image/variant → reference, each built once
	for i := range st.Services {
		s := &st.Services[i]
		if s.Build == nil || s.Image != "" && s.Build.Image == "" {
			continue
		}
		if s.Build.Image == "" {
			return fmt.Errorf("service %s: build: a Dockerfile context is not supported by berth up yet; build it with `berth build --dockerfile` and set image:", s.Name)
		}
		key := s.Build.Image + "/" + s.Build.Variant
		if ref, ok := built[key]; ok {
			s.Image = ref
			continue
		}
		if file == nil {
			sf := specFlags{file: st.Files[0], set: f.set}
			var err error
			if file, err = sf.load(); err != nil {
				return err
			}
		}
		b, err := newBuilder(file, progress)
		if err != nil {
			return err
		}
		r, err := b.Build(ctx, s.Build.Image, s.Build.Variant)
		if err != nil {
			return fmt.Errorf("service %s: %w", s.Name, err)
		}
		if b.LockChanged() {
			if err := b.Lock.Write(b.LockPath); err != nil {
				return err
			}
		}
		tag := s.Build.Image
		if s.Build.Variant != "" {
			tag += "-" + s.Build.Variant
		}
		ref := imageref.LayoutPrefix + filepath.Join(b.CacheDir, "stack-images") + ":" + tag
		if dest != nil {
			ref = dest(s.Build.Image, s.Build.Variant)
		}
		if err := imageref.Write(ctx, r.Image, ref, b.RefOptions); err != nil {
			return err
		}
		if dest != nil {
			d, err := r.Image.Digest()
			if err != nil {
				return err
			}
			fmt.Fprintf(progress, "pushed %s (%s)\n", ref, d)
			ref = repoOf(ref) + "@" + d.String()
		}
		built[key] = ref
		s.Image = ref
	}
	return nil
}

// repoOf strips a reference's tag (registry/repo:tag → registry/repo).
func repoOf(ref string) string {
	if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
		return ref[:i]
	}
	return ref
}

// toSpec converts a loaded stack into what the engine runs. Every field
// of a service is carried over or refused here, never dropped: the stack
// loader has already refused what berth cannot honour.
func toSpec(st *stack.Stack) (model.StackSpec, error) {
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
			DrainTimeout: p.DrainTimeout, TLSCert: p.TLSCert, TLSKey: p.TLSKey}
		if t := p.Timeouts; t != nil {
			svc.Proxy.Timeouts = model.ProxyTimeouts{ReadBody: t.ReadBody, ResponseHeader: t.ResponseHeader, Write: t.Write}
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

func newUpCommand() *cobra.Command {
	var f stackFlags
	var detach, wait bool
	var waitTimeout time.Duration
	cmd := &cobra.Command{
		Use:   "up",
		Short: "Create or update a stack's containers",
		Long: `up makes the daemon run the stack: it builds services' berth.yaml images,
creates missing containers, replaces changed ones and removes surplus ones.
Containers run detached (under the daemon) either way; -d is accepted for
compose users. --wait returns only once every container runs and is healthy.`,
		Example: `  berth up
  berth up -f compose.yaml
  berth up --env prod --wait`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_ = detach
			st, err := f.load(cmd.Context(), cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			if err := f.buildServiceImages(cmd.Context(), st, cmd.ErrOrStderr()); err != nil {
				return err
			}
			spec, err := toSpec(st)
			if err != nil {
				return err
			}
			c := api.NewClient(f.socket)
			var cs []engine.Container
			if err := c.Do(cmd.Context(), http.MethodPost, "/stacks/"+url.PathEscape(st.Name)+"/up", nil, spec, &cs); err != nil {
				return err
			}
			if wait {
				if cs, err = waitReady(cmd.Context(), c, st.Name, waitTimeout); err != nil {
					printContainers(cmd.ErrOrStderr(), cs)
					return err
				}
			}
			printContainers(cmd.OutOrStdout(), cs)
			return nil
		},
	}
	f.add(cmd)
	cmd.Flags().BoolVarP(&detach, "detach", "d", true, "run in the background (always: containers run under the daemon)")
	cmd.Flags().BoolVar(&wait, "wait", false, "wait until every container is running and healthy")
	cmd.Flags().DurationVar(&waitTimeout, "wait-timeout", 2*time.Minute, "how long --wait waits")
	return cmd
}

// waitReady polls the stack until every container runs and those with a
// health check are healthy.
func waitReady(ctx context.Context, c *api.Client, stack string, timeout time.Duration) ([]engine.Container, error) {
	deadline := time.Now().Add(timeout)
	q := url.Values{"stack": {stack}}
	for {
		var cs []engine.Container
		if err := c.Do(ctx, http.MethodGet, "/containers", q, nil, &cs); err != nil {
			return nil, err
		}
		ready := len(cs) > 0
		for _, ct := range cs {
			if ct.State != engine.StateRunning || (ct.Health != "" && ct.Health != health.Healthy) {
				ready = false
			}
		}
		if ready {
			return cs, nil
		}
		if time.Now().After(deadline) {
			return cs, fmt.Errorf("stack %s not ready after %s", stack, timeout)
		}
		select {
		case <-ctx.Done():
			return cs, ctx.Err()
		case <-time.After(200 * time.Millisecond): // polling interval
		}
	}
}

func newDownCommand() *cobra.Command {
	var f stackFlags
	var volumes bool
	cmd := &cobra.Command{
		Use:     "down",
		Short:   "Remove a stack's containers and network",
		Example: "  berth down\n  berth down -v -p shop",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			name, err := f.stackName(cmd)
			if err != nil {
				return err
			}
			q := url.Values{}
			if volumes {
				q.Set("volumes", "1")
			}
			return api.NewClient(f.socket).Do(cmd.Context(), http.MethodPost, "/stacks/"+url.PathEscape(name)+"/down", q, nil, nil)
		},
	}
	f.add(cmd)
	cmd.Flags().BoolVarP(&volumes, "volumes", "v", false, "also remove the named volumes the stack's containers used")
	return cmd
}

func newPsCommand() *cobra.Command {
	var socket, project string
	var asJSON bool
	cmd := &cobra.Command{
		Use:     "ps",
		Short:   "List containers",
		Example: "  berth ps\n  berth ps -p shop --json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var cs []engine.Container
			q := url.Values{}
			if project != "" {
				q.Set("stack", project)
			}
			if err := api.NewClient(socket).Do(cmd.Context(), http.MethodGet, "/containers", q, nil, &cs); err != nil {
				return err
			}
			if asJSON {
				return writeIndentedJSON(cmd.OutOrStdout(), cs)
			}
			printContainers(cmd.OutOrStdout(), cs)
			return nil
		},
	}
	cmd.Flags().StringVarP(&project, "project-name", "p", "", "only this stack")
	addSocketFlag(cmd, &socket)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func printContainers(w io.Writer, cs []engine.Container) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tSTATE\tHEALTH\tRESTARTS\tIP\tPORTS\tIMAGE")
	for _, c := range cs {
		var ports []string
		for _, p := range c.Ports {
			host := p.HostIP
			if host == "" {
				host = "0.0.0.0"
			}
			ports = append(ports, fmt.Sprintf("%s:%d->%d", host, p.HostPort, p.ContainerPort))
		}
		state := c.State
		if c.State == engine.StateRunning {
			state += " " + time.Since(c.StartedAt).Round(time.Second).String()
		} else if c.State == engine.StateExited {
			state += fmt.Sprintf(" (%d)", c.ExitCode)
		}
		if c.OOMKilled {
			state += " oom-killed"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t%s\n", c.Name, state, c.Health, c.Restarts, c.IP, strings.Join(ports, ","), shortDigest(c.Image))
	}
	tw.Flush()
}

func newLogsCommand() *cobra.Command {
	var f stackFlags
	var follow, timestamps bool
	var since string
	var tail int
	cmd := &cobra.Command{
		Use:     "logs [SERVICE]",
		Short:   "Show (and follow) the logs of a stack's containers, replicas interleaved",
		Example: "  berth logs -f\n  berth logs web --tail 100 --since 10m",
		Args:    cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name, err := f.stackName(cmd)
			if err != nil {
				return err
			}
			q := url.Values{}
			if len(args) == 1 {
				q.Set("service", args[0])
			}
			if follow {
				q.Set("follow", "1")
			}
			if since != "" {
				q.Set("since", since)
			}
			if tail > 0 {
				q.Set("tail", fmt.Sprint(tail))
			}
			out := cmd.OutOrStdout()
			err = api.NewClient(f.socket).Stream(cmd.Context(), http.MethodGet, "/stacks/"+url.PathEscape(name)+"/logs", q, nil, func(raw json.RawMessage) error {
				var e logs.Entry
				if err := json.Unmarshal(raw, &e); err != nil {
					return err
				}
				return logs.Format(out, e, len(name)+8, timestamps)
			})
			if errors.Is(err, context.Canceled) {
				return nil
			}
			return err
		},
	}
	f.addFile(cmd, "")
	f.addRest(cmd)
	cmd.Flags().BoolVarP(&follow, "follow", "f", false, "keep following new output")
	cmd.Flags().BoolVarP(&timestamps, "timestamps", "t", false, "show timestamps")
	cmd.Flags().StringVar(&since, "since", "", "only lines since a duration ago (10m) or an RFC 3339 time")
	cmd.Flags().IntVarP(&tail, "tail", "n", 0, "only the last N lines of each container (0: all)")
	return cmd
}
