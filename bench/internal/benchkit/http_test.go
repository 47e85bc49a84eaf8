package benchkit

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestGetOK(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/created":
			w.WriteHeader(http.StatusCreated)
		case "/auth":
			w.WriteHeader(http.StatusUnauthorized)
		default:
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	c := srv.Client()
	if err := GetOK(c, srv.URL+"/created"); err != nil {
		t.Errorf("201 with no statuses given: %v", err)
	}
	if err := GetOK(c, srv.URL+"/auth", http.StatusOK, http.StatusUnauthorized); err != nil {
		t.Errorf("401 when 401 is fine: %v", err)
	}
	if err := GetOK(c, srv.URL+"/auth"); err == nil || !strings.Contains(err.Error(), "HTTP 401") {
		t.Errorf("401 with no statuses given: %v", err)
	}
	if err := GetOK(c, srv.URL+"/down", http.StatusOK); err == nil || !strings.Contains(err.Error(), "/down: HTTP 503") {
		t.Errorf("503: %v", err)
	}
}
