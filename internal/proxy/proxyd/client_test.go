package proxyd

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestClientNoProxy(t *testing.T) {
	c := NewClient(filepath.Join(t.TempDir(), "none.sock"))
	ctx := ctxT(t, 5*time.Second)
	if err := c.Ping(ctx); !errors.Is(err, ErrNotRunning) || !strings.Contains(err.Error(), "none.sock") {
		t.Errorf("Ping with no proxy: %v", err)
	}
	if err := c.Drain(ctx, ""); err == nil {
		t.Error("Drain with an empty backend ID succeeded")
	}
}

// The server's error text reaches the caller as is, with the status.
func TestClientPassesServerErrors(t *testing.T) {
	c, _ := apiServer(t)
	err := c.do(ctxT(t, 5*time.Second), "POST", "/drain", nil, nil, nil)
	var apiErr *Error
	if !errors.As(err, &apiErr) || apiErr.Status != 400 || !strings.HasPrefix(err.Error(), "drain: query parameter backend") {
		t.Errorf("error %v (%T)", err, err)
	}
	err = c.do(ctxT(t, 5*time.Second), "GET", "/nope", nil, nil, nil)
	if !errors.As(err, &apiErr) || apiErr.Status != 404 || !strings.Contains(err.Error(), "404") {
		t.Errorf("unknown path: %v", err)
	}
}
