package console

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
)

// BenchmarkLiveTick50 is one poll of the live streams with 50 services
// and nothing changed: what the daemon spends per second while any number
// of stacks pages are open (read the stacks, compare; nothing rendered).
func BenchmarkLiveTick50(b *testing.B) {
	f := fiftyServices()
	last, _ := f.Stacks(context.Background())
	b.ResetTimer()
	for b.Loop() {
		st, _ := f.Stacks(context.Background())
		if !reflect.DeepEqual(st, last) {
			b.Fatal("changed")
		}
	}
}

// BenchmarkStacksFragment50 renders the stacks page's live part for 50
// services: what each open page costs when something changed.
func BenchmarkStacksFragment50(b *testing.B) {
	f := fiftyServices()
	s, err := New(Config{Ports: Ports{Stacks: f, Deploys: f, Logs: f}, Token: "t"})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	st, _ := f.Stacks(context.Background())
	b.ResetTimer()
	for b.Loop() {
		if _, err := s.fragment("stacks-body", map[string]any{"Stacks": st}); err != nil {
			b.Fatal(err)
		}
	}
}

func fiftyServices() *fakeDomain {
	f := newFake()
	var svcs []Service
	for i := range 50 {
		svcs = append(svcs, Service{Stack: "big", Name: fmt.Sprintf("svc%02d", i), Replicas: []Replica{
			{Name: fmt.Sprintf("big-svc%02d-1", i), Replica: 1, State: "running", Health: "healthy", Ports: []string{"127.0.0.1:80->80/tcp"}, Digest: "sha256:" + strings.Repeat("a", 64), Revision: 7},
			{Name: fmt.Sprintf("big-svc%02d-2", i), Replica: 2, State: "running", Health: "healthy", Ports: []string{"127.0.0.1:80->80/tcp"}, Digest: "sha256:" + strings.Repeat("a", 64), Revision: 7},
		}})
	}
	f.stacks = []Stack{{Name: "big", Services: svcs}}
	return f
}

// BenchmarkStacksPage50 renders the stacks page of 50 services of 2
// replicas each (the performance case: first byte ≤50 ms).
func BenchmarkStacksPage50(b *testing.B) {
	f := fiftyServices()
	s, err := New(Config{Ports: Ports{Stacks: f, Deploys: f, Logs: f}, Token: "t"})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	id, _ := s.sessions.create("ops")
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.AddCookie(&http.Cookie{Name: sessionCookie, Value: id})
	b.ResetTimer()
	for b.Loop() {
		w := httptest.NewRecorder()
		s.ServeHTTP(w, req)
		if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "svc49") {
			b.Fatalf("%d", w.Code)
		}
	}
}
