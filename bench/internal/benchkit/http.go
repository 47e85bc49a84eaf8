package benchkit

import (
	"fmt"
	"io"
	"net/http"
	"slices"
)

// GetOK does one GET of url with client and wants one of statuses (any
// 2xx if none are given): the readiness check of a server a benchmark
// starts, polled with Child.WaitReady.
func GetOK(client *http.Client, url string, statuses ...int) error {
	resp, err := client.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20)) // so the connection can be reused
	if len(statuses) == 0 && resp.StatusCode/100 == 2 || slices.Contains(statuses, resp.StatusCode) {
		return nil
	}
	return fmt.Errorf("GET %s: HTTP %d", url, resp.StatusCode)
}
