package kube

import (
	"context"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

// TestHistoryKeepsTheLastRevisions: the history keeps MaxRevisions
// revisions, dropping the oldest but never the current one, and reads
// them back in order.
func TestHistoryKeepsTheLastRevisions(t *testing.T) {
	ctx := context.Background()
	c := NewClient(fake.NewClientset(), "https://test:6443")
	h, err := LoadHistory(ctx, c, "shop", "shop")
	if err != nil {
		t.Fatal(err)
	}
	for n := 1; n <= MaxRevisions+5; n++ {
		outcome := OutcomeRolledBack
		if n == 2 {
			outcome = OutcomeDeployed // the current one, though old
		}
		if err := h.Put(ctx, c, "shop", Revision{Number: h.Next(), Outcome: outcome}); err != nil {
			t.Fatal(err)
		}
	}
	h, err = LoadHistory(ctx, c, "shop", "shop")
	if err != nil {
		t.Fatal(err)
	}
	if len(h.Revisions) != MaxRevisions {
		t.Fatalf("%d revisions kept, want %d", len(h.Revisions), MaxRevisions)
	}
	if cur, ok := h.Current(); !ok || cur.Number != 2 {
		t.Errorf("current %d, want 2 (kept)", cur.Number)
	}
	if last := h.Revisions[len(h.Revisions)-1].Number; last != MaxRevisions+5 || h.Next() != MaxRevisions+6 {
		t.Errorf("last %d", last)
	}
}

// TestHistoryConcurrentDeploy: a history written by another berth since
// it was read is not overwritten: the write fails saying so.
func TestHistoryConcurrentDeploy(t *testing.T) {
	ctx := context.Background()
	c := NewClient(fake.NewClientset(), "https://test:6443")
	a, _ := LoadHistory(ctx, c, "shop", "shop")
	b, _ := LoadHistory(ctx, c, "shop", "shop")
	if err := a.Put(ctx, c, "shop", Revision{Number: 1, Outcome: OutcomeInProgress}); err != nil {
		t.Fatal(err)
	}
	err := b.Put(ctx, c, "shop", Revision{Number: 1, Outcome: OutcomeInProgress})
	if err == nil || !strings.Contains(err.Error(), "another berth deployed the stack at the same time") {
		t.Errorf("second writer: %v", err)
	}
}

// TestHistoryOfAnotherStack: a ConfigMap by the history's name that is
// not labelled as this stack's is refused, not read or overwritten.
func TestHistoryOfAnotherStack(t *testing.T) {
	cs := fake.NewClientset(&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: HistoryName("shop"), Namespace: "shop"}})
	_, err := LoadHistory(context.Background(), NewClient(cs, "https://test:6443"), "shop", "shop")
	if err == nil || !strings.Contains(err.Error(), "is not stack shop's history") {
		t.Errorf("error %v", err)
	}
}
