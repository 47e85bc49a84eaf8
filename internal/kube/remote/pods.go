package remote

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/berth-dev/berth/internal/client"
	"github.com/berth-dev/berth/internal/engine"
	"github.com/berth-dev/berth/internal/engine/health"
	"github.com/berth-dev/berth/internal/engine/logs"
	"github.com/berth-dev/berth/internal/kube"
)

// pods lists the stack's pods (of services, when given), by service then
// name.
func (b *Backend) pods(ctx context.Context, stackName string, services []string) ([]*corev1.Pod, error) {
	list, err := b.Env.Cluster.ListCached(ctx, "Pod", b.Env.Namespace, kube.LabelStack+"="+stackName)
	if err != nil {
		return nil, fmt.Errorf("list the pods of stack %s in namespace %s: %w", stackName, b.Env.Namespace, kube.Explain(err, b.Env.Cluster.Server()))
	}
	var out []*corev1.Pod
	for _, o := range list {
		p := o.(*corev1.Pod)
		if len(services) == 0 || slices.Contains(services, p.Labels[kube.LabelService]) {
			out = append(out, p)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Labels[kube.LabelService] != b.Labels[kube.LabelService] {
			return a.Labels[kube.LabelService] < b.Labels[kube.LabelService]
		}
		return a.Name < b.Name
	})
	return out, nil
}

// Containers lists the stack's pods as berth ps shows containers: one
// row per pod (its service's container), the replica numbered in name
// order.
func (b *Backend) Containers(ctx context.Context, stackName string) ([]engine.Container, error) {
	pods, err := b.pods(ctx, stackName, nil)
	if err != nil {
		return nil, err
	}
	var out []engine.Container
	n := map[string]int{}
	for _, p := range pods {
		svc := p.Labels[kube.LabelService]
		n[svc]++
		c := engine.Container{ID: string(p.UID), Name: p.Name, Stack: stackName, Service: svc, Replica: n[svc],
			ConfigHash: p.Annotations[kube.AnnotationConfigHash], IP: p.Status.PodIP, State: engine.StateRunning}
		if len(p.Spec.Containers) > 0 {
			c.Image = p.Spec.Containers[0].Image
		}
		ready := false
		for _, cd := range p.Status.Conditions {
			if cd.Type == corev1.PodReady && cd.Status == corev1.ConditionTrue {
				ready = true
			}
		}
		c.Health = health.Starting
		if ready {
			c.Health = health.Healthy
		}
		for _, cs := range p.Status.ContainerStatuses {
			if cs.Name != svc {
				continue
			}
			if _, dg, ok := strings.Cut(cs.ImageID, "@"); ok {
				c.Image = dg
			}
			c.Restarts = int(cs.RestartCount)
			switch {
			case cs.State.Running != nil:
				c.StartedAt = cs.State.Running.StartedAt.Time
			case cs.State.Waiting != nil:
				c.State = engine.StateRestarting
				if cs.RestartCount > 0 {
					c.Health = health.Unhealthy
				}
			case cs.State.Terminated != nil:
				c.State, c.ExitCode = engine.StateExited, int(cs.State.Terminated.ExitCode)
				c.FinishedAt = cs.State.Terminated.FinishedAt.Time
			}
		}
		if p.DeletionTimestamp != nil {
			c.State = engine.StateRemoving
		}
		out = append(out, c)
	}
	return out, nil
}

// Logs calls fn with the log lines of the stack's pods (o.Services, or
// every service's), each pod's in order and the pods' interleaved by time
// (following: as they come).
func (b *Backend) Logs(ctx context.Context, stackName string, o client.LogsOptions, fn func(logs.Entry) error) error {
	services := o.Services
	if o.Service != "" {
		services = append([]string{o.Service}, services...)
	}
	pods, err := b.pods(ctx, stackName, services)
	if err != nil {
		return err
	}
	lo := corev1.PodLogOptions{Follow: o.Follow, Timestamps: true}
	if o.Tail > 0 {
		lo.TailLines = new(int64(o.Tail))
	}
	var until time.Time
	if o.Since != "" {
		t, err := parseWhen(o.Since)
		if err != nil {
			return fmt.Errorf("--since %q: %w", o.Since, err)
		}
		lo.SinceTime = &metav1.Time{Time: t}
	}
	if o.Until != "" {
		if until, err = parseWhen(o.Until); err != nil {
			return fmt.Errorf("--until %q: %w", o.Until, err)
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	entries := make(chan logs.Entry, 64)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []error
	for _, p := range pods {
		wg.Go(func() {
			opts := lo
			opts.Container = p.Labels[kube.LabelService]
			r, err := b.Env.Cluster.Logs(ctx, b.Env.Namespace, p.Name, &opts)
			if err != nil {
				mu.Lock()
				errs = append(errs, fmt.Errorf("logs of pod %s: %w", p.Name, kube.Explain(err, b.Env.Cluster.Server())))
				mu.Unlock()
				return
			}
			defer r.Close()
			readLines(ctx, r, p.Name, entries)
		})
	}
	go func() { wg.Wait(); close(entries) }()
	var batch []logs.Entry
	for e := range entries {
		if !until.IsZero() && e.Time.After(until) {
			continue
		}
		if o.Follow {
			if err := fn(e); err != nil {
				return err
			}
			continue
		}
		batch = append(batch, e)
	}
	sort.SliceStable(batch, func(i, j int) bool { return batch[i].Time.Before(batch[j].Time) })
	for _, e := range batch {
		if err := fn(e); err != nil {
			return err
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return errors.Join(errs...)
}

// readLines reads "TIMESTAMP LINE" lines (the API's timestamps).
func readLines(ctx context.Context, r io.Reader, source string, out chan<- logs.Entry) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		ts, line, _ := strings.Cut(sc.Text(), " ")
		t, err := time.Parse(time.RFC3339Nano, ts)
		if err != nil {
			line = sc.Text()
		}
		select {
		case out <- logs.Entry{Time: t, Stream: "stdout", Log: line + "\n", Source: source}:
		case <-ctx.Done():
			return
		}
	}
}

// parseWhen reads a duration ago (10m) or an RFC 3339 time.
func parseWhen(s string) (time.Time, error) {
	if d, err := time.ParseDuration(s); err == nil {
		return time.Now().Add(-d), nil
	}
	return time.Parse(time.RFC3339, s)
}
