package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// manifestAccept is what docker/containerd send when resolving a tag: every
// manifest and index media type, OCI first.
const manifestAccept = "application/vnd.oci.image.manifest.v1+json, " +
	"application/vnd.oci.image.index.v1+json, " +
	"application/vnd.docker.distribution.manifest.v2+json, " +
	"application/vnd.docker.distribution.manifest.list.v2+json"

// client issues registry requests over one tuned HTTP/1.1 connection pool.
type client struct {
	base *url.URL
	http *http.Client
}

// newClient builds a client whose pool keeps at least one idle keep-alive
// connection per worker, so steady-state load never pays for new TCP
// connections and the generator is not the bottleneck.
func newClient(rawURL string, concurrency int, timeout time.Duration) (*client, error) {
	u, err := parseBaseURL(rawURL)
	if err != nil {
		return nil, err
	}
	tr := &http.Transport{
		Proxy: nil, // a benchmark against loopback must never go through $HTTP_PROXY
		DialContext: (&net.Dialer{
			Timeout:   5 * time.Second,
			KeepAlive: 30 * time.Second,
		}).DialContext,
		MaxIdleConns:          4 * concurrency,
		MaxIdleConnsPerHost:   4 * concurrency,
		IdleConnTimeout:       90 * time.Second,
		DisableCompression:    true, // blobs are opaque bytes; gzip would only cost CPU
		ResponseHeaderTimeout: timeout,
		// Large buffers cut syscalls for 1–10 MiB bodies; reads into a larger
		// caller buffer bypass bufio entirely.
		WriteBufferSize: 256 << 10,
		ReadBufferSize:  64 << 10,
	}
	return &client{base: u, http: &http.Client{Transport: tr, Timeout: timeout}}, nil
}

// parseBaseURL checks a registry base URL (scheme and host, optional path
// prefix) and strips a trailing slash so "/v2/..." can be appended.
func parseBaseURL(rawURL string) (*url.URL, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("-url %q: %w", rawURL, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("-url %q: scheme must be http or https", rawURL)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("-url %q: missing host", rawURL)
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	return u, nil
}

func (c *client) close() { c.http.CloseIdleConnections() }

func (c *client) endpoint(path string) string {
	return c.base.String() + path
}

// statusError describes a response outside the expected status codes; the
// body snippet usually carries the registry's error code.
type statusError struct {
	method, url string
	status      int
	body        string
}

func (e *statusError) Error() string {
	return fmt.Sprintf("%s %s: HTTP %d %s", e.method, e.url, e.status, e.body)
}

// do sends req and returns the response if its status is want; otherwise it
// drains the body (keeping the connection reusable) and returns a statusError.
func (c *client) do(req *http.Request, want int) (*http.Response, error) {
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != want {
		snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 300))
		drainClose(resp.Body)
		return nil, &statusError{
			method: req.Method, url: req.URL.Redacted(), status: resp.StatusCode,
			body: strings.TrimSpace(string(snippet)),
		}
	}
	return resp, nil
}

// drainClose reads what is left of a body so the connection returns to the
// pool, then closes it.
func drainClose(body io.ReadCloser) {
	_, _ = io.Copy(io.Discard, io.LimitReader(body, 4<<20))
	_ = body.Close()
}

// location resolves an upload Location header (absolute or relative, both are
// allowed) against the request that returned it.
func location(resp *http.Response) (*url.URL, error) {
	loc := resp.Header.Get("Location")
	if loc == "" {
		return nil, fmt.Errorf("%s %s: HTTP %d without a Location header",
			resp.Request.Method, resp.Request.URL.Redacted(), resp.StatusCode)
	}
	u, err := resp.Request.URL.Parse(loc)
	if err != nil {
		return nil, fmt.Errorf("%s %s: bad Location %q: %w",
			resp.Request.Method, resp.Request.URL.Redacted(), loc, err)
	}
	return u, nil
}

// pushBlob uploads body the way docker and crane do: POST to open an upload,
// one streamed PATCH without Content-Range (Content-Length unknown, so the
// body goes out chunked), then PUT ?digest= with no body to commit.
func (c *client) pushBlob(ctx context.Context, repo, digest string, body io.Reader) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint("/v2/"+repo+"/blobs/uploads/"), nil)
	if err != nil {
		return err
	}
	resp, err := c.do(req, http.StatusAccepted)
	if err != nil {
		return err
	}
	drainClose(resp.Body)
	loc, err := location(resp)
	if err != nil {
		return err
	}

	// io.NopCloser hides the concrete reader type, so net/http cannot learn
	// the length and streams with Transfer-Encoding: chunked, as docker does.
	req, err = http.NewRequestWithContext(ctx, http.MethodPatch, loc.String(), io.NopCloser(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, err = c.do(req, http.StatusAccepted)
	if err != nil {
		return err
	}
	drainClose(resp.Body)
	if loc, err = location(resp); err != nil {
		return err
	}

	q := loc.Query()
	q.Set("digest", digest)
	loc.RawQuery = q.Encode()
	req, err = http.NewRequestWithContext(ctx, http.MethodPut, loc.String(), http.NoBody)
	if err != nil {
		return err
	}
	resp, err = c.do(req, http.StatusCreated)
	if err != nil {
		return err
	}
	drainClose(resp.Body)
	return nil
}

// getBlob reads a whole blob into buf-sized reads, discarding the bytes, and
// fails if fewer or more than want bytes arrive.
func (c *client) getBlob(ctx context.Context, repo, digest string, want int64, buf []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.endpoint("/v2/"+repo+"/blobs/"+digest), nil)
	if err != nil {
		return err
	}
	resp, err := c.do(req, http.StatusOK)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var n int64
	for {
		m, err := resp.Body.Read(buf)
		n += int64(m)
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("GET %s: reading body after %d bytes: %w", req.URL.Path, n, err)
		}
	}
	if n != want {
		return fmt.Errorf("GET %s: got %d bytes, want %d", req.URL.Path, n, want)
	}
	return nil
}

// fetch performs a GET or HEAD expecting 200 and returns the response with
// its body fully read into memory (nil for HEAD).
func (c *client) fetch(ctx context.Context, method, path string, header http.Header) (*http.Response, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.endpoint(path), nil)
	if err != nil {
		return nil, nil, err
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := c.do(req, http.StatusOK)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	if method == http.MethodHead {
		return resp, nil, nil
	}
	var b bytes.Buffer
	if resp.ContentLength > 0 {
		b.Grow(int(resp.ContentLength))
	}
	if _, err := b.ReadFrom(resp.Body); err != nil {
		return nil, nil, fmt.Errorf("%s %s: reading body: %w", method, path, err)
	}
	return resp, b.Bytes(), nil
}

// putManifest uploads a manifest under a tag or digest reference.
func (c *client) putManifest(ctx context.Context, repo, ref, mediaType string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, c.endpoint("/v2/"+repo+"/manifests/"+ref), bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", mediaType)
	resp, err := c.do(req, http.StatusCreated)
	if err != nil {
		return err
	}
	drainClose(resp.Body)
	return nil
}
