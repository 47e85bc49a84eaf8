//go:build linux

package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/http"
	"time"

	"github.com/berth-dev/berth/bench/internal/benchkit"
)

// httpOK does one GET and wants a 2xx: readiness checks between phases.
func httpOK(url string) error {
	// The TLS paths use the bench's own self-signed certificate; this is
	// a readiness check, not a test of it.
	c := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true, TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	return benchkit.GetOK(c, url)
}

// waitHTTP polls url until it answers 2xx or timeout passes.
func waitHTTP(ctx context.Context, url string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		err := httpOK(url)
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not answering after %s: %w", url, timeout, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond): // polling a server; there is no event to wait on
		}
	}
}
