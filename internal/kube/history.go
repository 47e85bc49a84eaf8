package kube

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Revision outcomes (the same words as berth deploy's local history).
const (
	OutcomeInProgress  = "in_progress"
	OutcomeDeployed    = "deployed"
	OutcomeRolledBack  = "rolled_back"
	OutcomeFailed      = "failed"
	OutcomeInterrupted = "interrupted"
)

// MaxRevisions is how many revisions of a stack the history keeps.
const MaxRevisions = 20

// maxHistoryBytes bounds the history ConfigMap's data (the API's limit
// for an object is 1 MiB): the oldest revisions go first.
const maxHistoryBytes = 800 << 10

// Revision is one deploy (or rollback) of a stack to a cluster, kept in
// the cluster so another machine sees it.
type Revision struct {
	Number     int               `json:"revision"`
	Created    time.Time         `json:"created"`
	Finished   time.Time         `json:"finished,omitzero"`
	Outcome    string            `json:"outcome"`
	Reason     string            `json:"reason,omitempty"`
	RollbackOf int               `json:"rollbackOf,omitempty"`
	Services   []ServiceRevision `json:"services"`
	// Objects are what was applied (Secrets without their data), so a
	// rollback re-applies exactly them.
	Objects []json.RawMessage `json:"objects"`
}

// ServiceRevision is what one service ran in a revision.
type ServiceRevision struct {
	Service    string `json:"service"`
	Image      string `json:"image"`
	Digest     string `json:"digest,omitempty"`
	ConfigHash string `json:"configHash"`
}

// Service returns the revision's entry for a service.
func (r Revision) Service(name string) (ServiceRevision, bool) {
	for _, s := range r.Services {
		if s.Service == name {
			return s, true
		}
	}
	return ServiceRevision{}, false
}

// History is a stack's revisions, oldest first, as the ConfigMap
// berth-history-STACK holds them.
type History struct {
	Stack     string
	Revisions []Revision
	cm        *corev1.ConfigMap // as read (nil: none yet)
}

// HistoryName is the ConfigMap of a stack's history.
func HistoryName(stack string) string { return "berth-history-" + dnsName(stack) }

const historyKeyPrefix = "revision-"

// LoadHistory reads a stack's history (empty when there is none).
func LoadHistory(ctx context.Context, c Cluster, ns, stack string) (*History, error) {
	h := &History{Stack: stack}
	o, err := c.Get(ctx, "ConfigMap", ns, HistoryName(stack))
	if apierrors.IsNotFound(err) {
		return h, nil
	}
	if err != nil {
		return nil, fmt.Errorf("history of stack %s (ConfigMap %s/%s): %w", stack, ns, HistoryName(stack), explain(err, c.Server()))
	}
	cm, ok := o.(*corev1.ConfigMap)
	if !ok {
		return nil, fmt.Errorf("history: %T", o)
	}
	if cm.Labels[LabelStack] != stack {
		return nil, fmt.Errorf("ConfigMap %s/%s is not stack %s's history (label %s=%q)", ns, cm.Name, stack, LabelStack, cm.Labels[LabelStack])
	}
	h.cm = cm
	for k, v := range cm.BinaryData {
		if !strings.HasPrefix(k, historyKeyPrefix) {
			continue
		}
		r, err := decodeRevision(v)
		if err != nil {
			return nil, fmt.Errorf("history of stack %s (ConfigMap %s/%s) key %s: %w", stack, ns, cm.Name, k, err)
		}
		h.Revisions = append(h.Revisions, r)
	}
	sort.Slice(h.Revisions, func(i, j int) bool { return h.Revisions[i].Number < h.Revisions[j].Number })
	return h, nil
}

func decodeRevision(b []byte) (Revision, error) {
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return Revision{}, err
	}
	data, err := io.ReadAll(io.LimitReader(zr, 16<<20))
	if err != nil {
		return Revision{}, err
	}
	var r Revision
	if err := json.Unmarshal(data, &r); err != nil {
		return Revision{}, err
	}
	return r, nil
}

func encodeRevision(r Revision) ([]byte, error) {
	data, err := json.Marshal(r)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	if _, err := zw.Write(data); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// Current is the revision running now: the last deployed one.
func (h *History) Current() (Revision, bool) {
	for i := len(h.Revisions) - 1; i >= 0; i-- {
		if h.Revisions[i].Outcome == OutcomeDeployed {
			return h.Revisions[i], true
		}
	}
	return Revision{}, false
}

// Get returns revision n.
func (h *History) Get(n int) (Revision, bool) {
	for _, r := range h.Revisions {
		if r.Number == n {
			return r, true
		}
	}
	return Revision{}, false
}

// Next is the number of the next revision.
func (h *History) Next() int {
	if len(h.Revisions) == 0 {
		return 1
	}
	return h.Revisions[len(h.Revisions)-1].Number + 1
}

// Put adds or replaces a revision and writes the history; the write
// checks the ConfigMap's resourceVersion, so a concurrent deploy from
// another machine is a conflict, not a lost revision.
func (h *History) Put(ctx context.Context, c Cluster, ns string, r Revision) error {
	revs := slices.Clone(h.Revisions)
	if i := slices.IndexFunc(revs, func(x Revision) bool { return x.Number == r.Number }); i >= 0 {
		revs[i] = r
	} else {
		revs = append(revs, r)
	}
	cur, _ := (&History{Revisions: revs}).Current()
	encoded := make([][]byte, len(revs))
	total := 0
	for i, x := range revs {
		b, err := encodeRevision(x)
		if err != nil {
			return err
		}
		encoded[i] = b
		total += len(b)
	}
	// The oldest go first, never the current one nor the one being put.
	for i := 0; i < len(revs) && (len(revs) > MaxRevisions || total > maxHistoryBytes); {
		if revs[i].Number == cur.Number || revs[i].Number == r.Number {
			i++
			continue
		}
		total -= len(encoded[i])
		revs = slices.Delete(revs, i, i+1)
		encoded = slices.Delete(encoded, i, i+1)
	}
	data := map[string][]byte{}
	for i, x := range revs {
		data[historyKeyPrefix+fmt.Sprintf("%06d", x.Number)] = encoded[i]
	}
	cm := &corev1.ConfigMap{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
		ObjectMeta: metav1.ObjectMeta{Name: HistoryName(h.Stack), Namespace: ns, Labels: map[string]string{LabelManagedBy: ManagedBy, LabelStack: h.Stack, labelHistory: "true"}},
		BinaryData: data,
	}
	var (
		o   Object
		err error
	)
	if h.cm == nil {
		o, err = c.Create(ctx, cm)
	} else {
		cm.ResourceVersion = h.cm.ResourceVersion
		o, err = c.Update(ctx, cm)
	}
	if apierrors.IsConflict(err) || apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("history of stack %s (ConfigMap %s/%s) changed under this deploy: another berth deployed the stack at the same time; look at berth history and deploy again", h.Stack, ns, cm.Name)
	}
	if err != nil {
		return objectError("write", cm, c.Server(), err)
	}
	h.cm = o.(*corev1.ConfigMap)
	h.Revisions = revs
	return nil
}

// labelHistory marks the history ConfigMap (never pruned).
const labelHistory = "berth.dev/history"

// revisionLabel is how a revision is shown: "3" or "3 (rollback to 1)".
func revisionLabel(r Revision) string {
	s := strconv.Itoa(r.Number)
	if r.RollbackOf > 0 {
		s += fmt.Sprintf(" (rollback to %d)", r.RollbackOf)
	}
	return s
}
