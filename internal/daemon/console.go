package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"sort"
	"strconv"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/berth-dev/berth/internal/console"
	"github.com/berth-dev/berth/internal/deploy"
	"github.com/berth-dev/berth/internal/engine"
	"github.com/berth-dev/berth/internal/engine/logs"
	"github.com/berth-dev/berth/internal/inspect"
	"github.com/berth-dev/berth/internal/store"
)

// consolePorts adapts the engine and the deployer to the console's ports
// (internal/console): the console reads and acts on the same objects the
// API serves, in process.
type consolePorts struct {
	eng *engine.Engine
	dep *deploy.Deployer
	st  *store.Store
}

// Stats samples the service's running replicas once a second (berth
// stats' samples), reading no other service's.
func (p consolePorts) Stats(ctx context.Context, stack, service string, fn func(console.StatsSample) error) error {
	return p.eng.SampleStats(ctx, stack, service, func(s engine.StatsSample) error {
		out := console.StatsSample{Time: s.Time}
		for _, c := range s.Containers {
			out.Replicas = append(out.Replicas, console.ReplicaStats{Name: c.Name, Service: c.Service, CPUPercent: c.CPUPercent, MemoryBytes: c.MemoryBytes})
		}
		return fn(out)
	})
}

// Inspect reports on a stored image, as berth inspect does.
func (p consolePorts) Inspect(_ context.Context, digest string) (*inspect.Report, error) {
	img, err := p.image(digest)
	if err != nil {
		return nil, err
	}
	return inspect.InspectWith(img, inspect.Options{})
}

// Diff compares two stored images, as berth diff does.
func (p consolePorts) Diff(_ context.Context, from, to string) (*inspect.DiffReport, error) {
	a, err := p.image(from)
	if err != nil {
		return nil, err
	}
	b, err := p.image(to)
	if err != nil {
		return nil, err
	}
	return inspect.Diff(a, b)
}

func (p consolePorts) image(digest string) (v1.Image, error) {
	img, err := p.st.V1Image(digest)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("image %s is not in the daemon's store: %w", digest, console.ErrNoImage)
	}
	return img, err
}

// Stacks groups the engine's containers by stack and service.
func (p consolePorts) Stacks(context.Context) ([]console.Stack, error) {
	var out []console.Stack
	idx := map[string]int{}
	for _, c := range p.eng.Containers("") {
		i, ok := idx[c.Stack]
		if !ok {
			i = len(out)
			idx[c.Stack] = i
			out = append(out, console.Stack{Name: c.Stack})
		}
		st := &out[i]
		j := -1
		for k := range st.Services {
			if st.Services[k].Name == c.Service {
				j = k
			}
		}
		if j < 0 {
			st.Services = append(st.Services, console.Service{Stack: c.Stack, Name: c.Service, Labels: c.Spec.Labels})
			j = len(st.Services) - 1
		}
		st.Services[j].Replicas = append(st.Services[j].Replicas, replicaOf(c))
	}
	sort.Slice(out, func(a, b int) bool { return out[a].Name < out[b].Name })
	for _, st := range out {
		sort.Slice(st.Services, func(a, b int) bool { return st.Services[a].Name < st.Services[b].Name })
		for _, sv := range st.Services {
			sort.Slice(sv.Replicas, func(a, b int) bool { return sv.Replicas[a].Replica < sv.Replicas[b].Replica })
		}
	}
	return out, nil
}

func replicaOf(c engine.Container) console.Replica {
	r := console.Replica{Name: c.Name, Replica: c.Replica, State: c.State, Health: string(c.Health), Restarts: c.Restarts, Digest: c.Image, Revision: c.Revision}
	for _, pm := range c.Ports {
		host := strconv.Itoa(pm.HostPort)
		if pm.HostIP != "" {
			host = net.JoinHostPort(pm.HostIP, host)
		}
		r.Ports = append(r.Ports, fmt.Sprintf("%s->%d/%s", host, pm.ContainerPort, pm.Protocol))
	}
	return r
}

func (p consolePorts) Revisions(_ context.Context, stack, service string) ([]console.Revision, error) {
	var out []console.Revision
	for _, h := range p.dep.History(stack, service) {
		out = append(out, console.Revision{Number: h.Number, Image: h.Image, Digest: h.Digest, ConfigHash: h.ConfigHash, Created: h.Created,
			Outcome: h.Outcome, Reason: h.Reason, RollbackOf: h.RollbackOf, Current: h.Current})
	}
	return out, nil
}

func (p consolePorts) Rollback(ctx context.Context, stack, service string, to int) error {
	_, err := p.dep.Rollback(ctx, stack, service, to, 0, nil)
	return err
}

// consoleLogPoll is how often a browser's log view checks a replica's log
// for new lines: a quarter second is live to a reader, and each open view
// costs the daemon a stat per poll (consolebench: 10 a second made five
// browsers on one service page cost 1.2% of a CPU).
const consoleLogPoll = 250 * time.Millisecond

// Logs reads the log files of the service's replicas, as the API's logs
// endpoint does.
func (p consolePorts) Logs(ctx context.Context, q console.LogQuery, fn func(console.LogLine) error) error {
	var cs []engine.Container
	for _, c := range p.eng.ServiceContainers(q.Stack, q.Service) {
		if q.Replica == 0 || c.Replica == q.Replica {
			cs = append(cs, c)
		}
	}
	line := func(e logs.Entry) console.LogLine {
		return console.LogLine{Time: e.Time, Source: e.Source, Stream: e.Stream, Text: e.Log}
	}
	if !q.Follow {
		sources := map[string][]logs.Entry{}
		for _, c := range cs {
			entries, err := logs.ReadAll(p.eng.LogFile(c.ID), logs.Options{Tail: q.Tail})
			if err != nil && !errors.Is(err, os.ErrNotExist) {
				return err
			}
			sources[c.Name] = entries
		}
		for _, e := range logs.Merge(sources) {
			if err := fn(line(e)); err != nil {
				return err
			}
		}
		return nil
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type tagged struct {
		e      logs.Entry
		source string
	}
	out := make(chan tagged, 256)
	followed := map[string]bool{}
	// follow follows one replica's log; fromStart for a replica that
	// appeared while the stream was open (a deploy's new replicas), whose
	// first lines may be written before it is followed.
	follow := func(c engine.Container, fromStart bool) {
		followed[c.ID] = true
		in := make(chan logs.Entry, 64)
		go func() {
			_ = logs.Follow(ctx, p.eng.LogFile(c.ID), logs.Options{FromStart: fromStart, Poll: consoleLogPoll}, in)
		}()
		go func() {
			for {
				select {
				case <-ctx.Done():
					return
				case e := <-in:
					select {
					case out <- tagged{e, c.Name}:
					case <-ctx.Done():
						return
					}
				}
			}
		}()
	}
	for _, c := range cs {
		follow(c, false)
	}
	rescan := time.NewTicker(time.Second)
	defer rescan.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-rescan.C:
			for _, c := range p.eng.ServiceContainers(q.Stack, q.Service) {
				if !followed[c.ID] && (q.Replica == 0 || c.Replica == q.Replica) {
					follow(c, true)
				}
			}
		case t := <-out:
			t.e.Source = t.source
			if err := fn(line(t.e)); err != nil {
				return err
			}
		}
	}
}

// serveConsole starts the web console over the daemon's ports.
func serveConsole(a console.Access, ports consolePorts, log *slog.Logger) (func(context.Context), error) {
	return console.Listen(a, console.Ports{Stacks: ports, Deploys: ports, Logs: ports, Images: ports, Stats: ports}, log)
}
