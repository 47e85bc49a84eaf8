package console

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// BenchmarkStacksPage50 renders the stacks page of 50 services of 2
// replicas each (the performance case: first byte ≤50 ms).
func BenchmarkStacksPage50(b *testing.B) {
	f := newFake()
	var svcs []Service
	for i := range 50 {
		svcs = append(svcs, Service{Stack: "big", Name: fmt.Sprintf("svc%02d", i), Replicas: []Replica{
			{Name: fmt.Sprintf("big-svc%02d-1", i), Replica: 1, State: "running", Health: "healthy", Ports: []string{"127.0.0.1:80->80/tcp"}, Digest: "sha256:" + strings.Repeat("a", 64), Revision: 7},
			{Name: fmt.Sprintf("big-svc%02d-2", i), Replica: 2, State: "running", Health: "healthy", Ports: []string{"127.0.0.1:80->80/tcp"}, Digest: "sha256:" + strings.Repeat("a", 64), Revision: 7},
		}})
	}
	f.stacks = []Stack{{Name: "big", Services: svcs}}
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
