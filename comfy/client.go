package comfy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// Default response size limits.
const (
	DefaultMaxBodySize      = 16 << 20 // most JSON responses
	DefaultMaxLargeBodySize = 64 << 20 // /object_info and unbounded /history
	maxErrorBodySize        = 64 << 10 // kept from non-2xx bodies
)

// Client calls one ComfyUI server's HTTP routes. It is safe for concurrent use.
// It holds no state besides its configuration.
type Client struct {
	base         *url.URL // scheme, host and path prefix without trailing slash
	hc           *http.Client
	header       http.Header
	apiPrefix    bool
	maxBody      int64
	maxLargeBody int64
}

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient sets the HTTP client (default http.DefaultClient). Timeouts
// belong on the ctx of each call or on this client.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *Client) {
		if hc != nil {
			c.hc = hc
		}
	}
}

// WithAPIPrefix makes the client call /api/<route> instead of /<route>, as the
// official frontend does. Servers older than mid-2024 lack the /api aliases.
// The /api/jobs routes always use /api.
func WithAPIPrefix(on bool) Option { return func(c *Client) { c.apiPrefix = on } }

// WithHeader adds a header to every request (for example Authorization for a
// ComfyUI behind an authenticating proxy). Origin is never sent: ComfyUI
// answers 403 to loopback requests whose Origin differs from Host.
func WithHeader(key, value string) Option {
	return func(c *Client) {
		if http.CanonicalHeaderKey(key) != "Origin" {
			c.header.Add(key, value)
		}
	}
}

// WithMaxBodySize bounds JSON response bodies (default DefaultMaxBodySize).
func WithMaxBodySize(n int64) Option {
	return func(c *Client) {
		if n > 0 {
			c.maxBody = n
		}
	}
}

// WithMaxLargeBodySize bounds /object_info and /history without max_items
// (default DefaultMaxLargeBodySize).
func WithMaxLargeBodySize(n int64) Option {
	return func(c *Client) {
		if n > 0 {
			c.maxLargeBody = n
		}
	}
}

// NewClient returns a client for the ComfyUI at baseURL, e.g.
// "http://127.0.0.1:8188" or "https://proxy.example/comfy/" (a path prefix is
// kept).
func NewClient(baseURL string, opts ...Option) (*Client, error) {
	u, err := parseBaseURL(baseURL)
	if err != nil {
		return nil, err
	}
	c := &Client{
		base:         u,
		hc:           http.DefaultClient,
		header:       http.Header{},
		maxBody:      DefaultMaxBodySize,
		maxLargeBody: DefaultMaxLargeBodySize,
	}
	for _, o := range opts {
		o(c)
	}
	return c, nil
}

func parseBaseURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("comfy base url: %w", err)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("comfy base url %q: no host", raw)
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath, u.RawQuery, u.Fragment = "", "", ""
	return u, nil
}

// BaseURL returns a copy of the server's base URL (with any path prefix).
func (c *Client) BaseURL() *url.URL {
	u := *c.base
	return &u
}

// routeURL builds the URL of route, which starts with "/" and has its
// variable segments already escaped with url.PathEscape.
func (c *Client) routeURL(route string, q url.Values) string {
	prefix := ""
	if c.apiPrefix && !strings.HasPrefix(route, "/api/") {
		prefix = "/api"
	}
	s := c.base.String() + prefix + route
	if len(q) > 0 {
		s += "?" + q.Encode()
	}
	return s
}

// request is one call's description.
type request struct {
	method  string
	route   string
	query   url.Values
	body    io.Reader
	length  int64 // Content-Length of body when > 0; else unknown
	ctype   string
	header  http.Header
	maxBody int64
}

// send performs the request and returns the response for any status.
func (c *Client) send(ctx context.Context, r request) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, r.method, c.routeURL(r.route, r.query), r.body)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", r.method, r.route, err)
	}
	for k, vs := range c.header {
		req.Header[k] = append([]string(nil), vs...)
	}
	for k, vs := range r.header {
		req.Header[k] = vs
	}
	req.Header.Del("Origin")
	if r.length > 0 {
		req.ContentLength = r.length
	}
	if r.ctype != "" {
		req.Header.Set("Content-Type", r.ctype)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", r.method, r.route, err)
	}
	return resp, nil
}

// call performs the request and returns the bounded body of a 2xx response;
// other statuses become *HTTPError.
func (c *Client) call(ctx context.Context, r request) ([]byte, error) {
	resp, err := c.send(ctx, r)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, httpError(r, resp)
	}
	limit := r.maxBody
	if limit == 0 {
		limit = c.maxBody
	}
	body, err := readLimited(resp.Body, limit)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", r.method, r.route, err)
	}
	return body, nil
}

// callJSON performs the request and decodes a 2xx JSON body into out.
func (c *Client) callJSON(ctx context.Context, r request, out any) error {
	body, err := c.call(ctx, r)
	if err != nil {
		return err
	}
	err = decodeUseNumber(body, out)
	if clean, ok := pythonNonFinite(body); err != nil && ok {
		err = decodeUseNumber(clean, out) // NaN/Infinity from custom nodes
	}
	if err != nil {
		return fmt.Errorf("%s %s: decode response: %w: %v", r.method, r.route, ErrMalformed, err)
	}
	return nil
}

// jsonBody encodes v as a request body.
func jsonBody(v any) (io.Reader, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode request: %w", err)
	}
	return bytes.NewReader(b), nil
}

func readLimited(r io.Reader, limit int64) ([]byte, error) {
	body, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, fmt.Errorf("read body: %w", err)
	}
	if int64(len(body)) > limit {
		return nil, fmt.Errorf("%w: over %d bytes", ErrTooLarge, limit)
	}
	return body, nil
}

func httpError(r request, resp *http.Response) error {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBodySize))
	return &HTTPError{Method: r.method, Path: r.route, Status: resp.StatusCode, Body: string(body)}
}

// isHTTPStatus reports whether err is an *HTTPError with the given status.
func isHTTPStatus(err error, status int) (*HTTPError, bool) {
	var he *HTTPError
	if errors.As(err, &he) && he.Status == status {
		return he, true
	}
	return nil, false
}
