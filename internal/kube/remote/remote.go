// Package remote is the backend of berth's stack commands (deploy, ship,
// rollback, history, ps, logs) when -E names an environment with a
// Kubernetes cluster (kubernetes:): the same calls the daemon's client
// answers, in the same types (deploy's stream lines, reports and history
// entries, the engine's containers and log entries), so the commands print
// both alike. Underneath it is internal/kube: the translation, server-side
// apply, the rollout and the history kept in the cluster.
package remote

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"

	"github.com/berth-dev/berth/internal/deploy"
	"github.com/berth-dev/berth/internal/kube"
	"github.com/berth-dev/berth/internal/stack"
)

// Backend is one environment's cluster.
type Backend struct {
	Env kube.Env
	// RollbackTimeout bounds berth rollback's rollout (default 2 min).
	RollbackTimeout time.Duration
	// ReadFile reads the configs' and secrets' files (default os.ReadFile).
	ReadFile func(string) ([]byte, error)
	// Keychain has the registries' credentials for the pods' image pull
	// Secret (default: the docker config keychain, as berth's pushes).
	Keychain authn.Keychain
}

// Open connects to the environment's cluster (its kubeconfig and context).
func Open(t stack.Target) (*Backend, error) {
	if t.Kubernetes == nil {
		return nil, fmt.Errorf("environments.%s has no kubernetes:", t.Env)
	}
	c, ns, err := kube.Connect(t.Kubernetes)
	if err != nil {
		return nil, fmt.Errorf("environments.%s.kubernetes: %w", t.Env, err)
	}
	return &Backend{Env: kube.Env{Cluster: c, Namespace: ns, Name: t.Env}}, nil
}

// Ping checks the cluster answers and the namespace exists.
func (b *Backend) Ping(ctx context.Context) error { return b.Env.CheckNamespace(ctx) }

// Deploy translates the request's stack, applies it and follows the
// rollout, sending progress and the report as the daemon does.
func (b *Backend) Deploy(ctx context.Context, req deploy.Request, fn func(deploy.StreamLine) error) error {
	if len(req.Services) > 0 {
		return fmt.Errorf("deploy SERVICE to a cluster (environments.%s): not supported yet; deploy the whole stack", b.Env.Name)
	}
	read := b.ReadFile
	if read == nil {
		read = os.ReadFile
	}
	kc := b.Keychain
	if kc == nil {
		kc = authn.DefaultKeychain
	}
	auths, err := pullAuth(req.Spec, kc)
	if err != nil {
		return err
	}
	tr, err := kube.Translate(req.Spec, kube.Options{Namespace: b.Env.Namespace, ReadFile: read, SecretValues: true, PullAuth: auths})
	if err != nil {
		return err
	}
	for _, w := range tr.Warnings {
		if err := fn(deploy.StreamLine{Event: &deploy.Event{Time: time.Now(), Service: w.Service, Kind: "warning", Message: "warning: " + w.String()}}); err != nil {
			return err
		}
	}
	out, err := b.Env.Deploy(ctx, req.Spec.Name, tr.Objects, kube.DeployOptions{Timeout: req.ReadyTimeout, Progress: progress(fn)})
	return b.finish(out, err, fn)
}

// Rollback rolls a service back to revision to (0: the one before).
func (b *Backend) Rollback(ctx context.Context, stackName, service string, to int, fn func(deploy.StreamLine) error) error {
	out, err := b.Env.Rollback(ctx, stackName, service, to, kube.DeployOptions{Timeout: b.RollbackTimeout, Progress: progress(fn)})
	return b.finish(out, err, fn)
}

func progress(fn func(deploy.StreamLine) error) func(kube.Event) {
	return func(e kube.Event) {
		_ = fn(deploy.StreamLine{Event: &deploy.Event{Time: e.Time, Service: e.Service, Revision: e.Revision, Kind: "progress", Message: e.Message}})
	}
}

// finish sends the report; a failed (rolled back) rollout is the report's
// Failed, as from the daemon.
func (b *Backend) finish(out kube.Outcome, err error, fn func(deploy.StreamLine) error) error {
	failed := ""
	if errors.Is(err, kube.ErrRolloutFailed) {
		failed, err = err.Error(), nil
	}
	if err != nil {
		return err
	}
	for _, w := range out.Warnings {
		if err := fn(deploy.StreamLine{Event: &deploy.Event{Time: time.Now(), Service: out.Stack, Kind: "warning", Message: "warning: " + w}}); err != nil {
			return err
		}
	}
	rep := deploy.Report{Stack: out.Stack}
	for _, s := range out.Services {
		rep.Services = append(rep.Services, deploy.ServiceResult{Service: s.Service, Revision: out.Revision, Current: out.Current, Digest: s.Digest, Outcome: out.Outcome, Reason: out.Reason})
	}
	return fn(deploy.StreamLine{Report: &rep, Failed: failed})
}

// History lists the stack's revisions that have the service, oldest
// first (a cluster's revisions are the stack's: one number for every
// service).
func (b *Backend) History(ctx context.Context, stackName, service string) ([]deploy.HistoryEntry, error) {
	h, err := kube.LoadHistory(ctx, b.Env.Cluster, b.Env.Namespace, stackName)
	if err != nil {
		return nil, err
	}
	cur, _ := h.Current()
	var out []deploy.HistoryEntry
	for _, r := range h.Revisions {
		s, ok := r.Service(service)
		if !ok {
			continue
		}
		out = append(out, deploy.HistoryEntry{Revision: deploy.Revision{
			Number: r.Number, Service: service, Image: s.Image, Digest: s.Digest, ConfigHash: shortHash(s.ConfigHash),
			Created: r.Created, Finished: r.Finished, Outcome: r.Outcome, Reason: r.Reason, RollbackOf: r.RollbackOf,
		}, Current: r.Number == cur.Number && cur.Number > 0})
	}
	return slices.Clip(out), nil
}

func shortHash(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return h
}
