package kube

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// Cluster is what berth needs from a Kubernetes API server (the port the
// rollout works through; NewClient adapts client-go to it). Kinds are
// those the translation emits plus Pod and ReplicaSet; errors are
// apimachinery's (apierrors.IsNotFound and friends work on them).
type Cluster interface {
	// Namespace checks the namespace exists.
	Namespace(ctx context.Context, ns string) error
	// Get reads one object (TypeMeta set).
	Get(ctx context.Context, kind, ns, name string) (Object, error)
	// List lists a kind's objects matching a label selector.
	List(ctx context.Context, kind, ns, selector string) ([]Object, error)
	// ListCached is List from the API server's watch cache
	// (resourceVersion 0): at least as fresh as the watch events seen,
	// without the wait of a consistent read (which an idle namespace
	// can make seconds long).
	ListCached(ctx context.Context, kind, ns, selector string) ([]Object, error)
	// Apply server-side applies obj as field manager "berth"; force takes
	// over fields another manager owns (off: such a conflict is an error).
	Apply(ctx context.Context, obj Object, force bool) (Object, error)
	// Create and Update write an object as given (Update checks its
	// resourceVersion: a concurrent change is a Conflict).
	Create(ctx context.Context, obj Object) (Object, error)
	Update(ctx context.Context, obj Object) (Object, error)
	// Delete deletes an object (its dependents in the background).
	Delete(ctx context.Context, kind, ns, name string) error
	// Changes signals (coalesced) when a Deployment or Pod matching the
	// selector changes, until ctx ends.
	Changes(ctx context.Context, ns, selector string) (<-chan struct{}, error)
	// Logs streams a container's log.
	Logs(ctx context.Context, ns, pod string, o *corev1.PodLogOptions) (io.ReadCloser, error)
	// Server names the API server (for errors).
	Server() string
}

// FieldManager is berth's field manager for server-side apply.
const FieldManager = "berth"

// objectError says what went wrong with one object, in a user's terms.
func objectError(verb string, o Object, server string, err error) error {
	kind := o.GetObjectKind().GroupVersionKind().Kind
	name := o.GetName()
	if o.GetNamespace() != "" {
		name = o.GetNamespace() + "/" + name
	}
	return fmt.Errorf("%s %s %s: %w", verb, kind, name, explain(err, server))
}

// Explain turns an error of the Cluster into a sentence that says what
// to do (API status errors stay in the chain).
func Explain(err error, server string) error { return explain(err, server) }

// explain turns an API error into a sentence that says what to do.
func explain(err error, server string) error {
	var status apierrors.APIStatus
	switch {
	case apierrors.IsForbidden(err):
		return fmt.Errorf("forbidden by the cluster's RBAC (%w): the kubeconfig's user needs that permission in the namespace", err)
	case apierrors.IsConflict(err) && strings.Contains(err.Error(), "conflict"):
		return fmt.Errorf("%w (another field manager owns those fields: change them through it, or take them over with kubectl apply --server-side --force-conflicts --field-manager=berth)", err)
	case apierrors.IsUnauthorized(err):
		return fmt.Errorf("the API server %s refused the kubeconfig's credentials: %w", server, err)
	case apierrors.IsInvalid(err):
		return fmt.Errorf("rejected by the API server's validation: %w", err)
	case isUnreachable(err, &status):
		// %v: the transport error's text, not the error (which berth's
		// error printer would take for a registry's).
		var op *net.OpError
		reason := err.Error()
		if errors.As(err, &op) {
			reason = op.Error()
		}
		return fmt.Errorf("the Kubernetes API server %s does not answer (check the kubeconfig and context, and that the cluster runs): %v", server, reason)
	}
	return err
}

// isUnreachable reports a transport error (no HTTP status from the API).
func isUnreachable(err error, status *apierrors.APIStatus) bool {
	if err == nil {
		return false
	}
	if s, ok := err.(apierrors.APIStatus); ok {
		*status = s
		return false
	}
	msg := err.Error()
	for _, s := range []string{"connection refused", "no such host", "i/o timeout", "connection reset", "dial tcp", "context deadline exceeded", "EOF"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}
