package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/comfygate/comfygate/api"
)

// Client calls one comfygate server. It is safe for concurrent use.
type Client struct {
	base   *url.URL
	hc     *http.Client
	apiKey string
}

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient sets the HTTP client (default http.DefaultClient). Give it
// no overall Timeout if you follow events: bound calls with their context.
func WithHTTPClient(hc *http.Client) Option { return func(c *Client) { c.hc = hc } }

// WithAPIKey sends key as Authorization: Bearer on every request.
func WithAPIKey(key string) Option { return func(c *Client) { c.apiKey = key } }

// New returns a client of the server at baseURL (e.g.
// "http://127.0.0.1:8080"; a path prefix is kept).
func New(baseURL string, opts ...Option) (*Client, error) {
	u, err := url.Parse(baseURL)
	if err != nil {
		return nil, fmt.Errorf("client: base url: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("client: base url %q: want http(s)://host[:port]", baseURL)
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	c := &Client{base: u, hc: http.DefaultClient}
	for _, o := range opts {
		o(c)
	}
	return c, nil
}

// Error is a failure the server reported (any 4xx or 5xx answer). Branch
// on Code (the api.Code… constants) and Field, not on Message.
type Error struct {
	StatusCode int
	Code       string
	Message    string
	Field      string
	RequestID  string
	NodeErrors map[string]any
	// RetryAfter is the server's Retry-After (429, 503), else 0.
	RetryAfter time.Duration
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "comfygate: %d %s: ", e.StatusCode, e.Code)
	// The server's message names the field already ("params.steps: must be
	// ≥ 1"); add it only when an older server left it out.
	if e.Field != "" && !strings.HasPrefix(e.Message, e.Field) {
		b.WriteString(e.Field + ": ")
	}
	b.WriteString(e.Message)
	if e.RequestID != "" {
		fmt.Fprintf(&b, " (request %s)", e.RequestID)
	}
	return b.String()
}

// url joins the base URL and an API path whose variable parts the caller
// escaped with url.PathEscape.
func (c *Client) url(path string, q url.Values) string {
	s := c.base.Scheme + "://" + c.base.Host + c.base.EscapedPath() + path
	if len(q) > 0 {
		s += "?" + q.Encode()
	}
	return s
}

func (c *Client) newRequest(ctx context.Context, method, path string, q url.Values, body io.Reader) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.url(path, q), body)
	if err != nil {
		return nil, err
	}
	if c.apiKey != "" {
		req.Header.Set("Authorization", "Bearer "+c.apiKey)
	}
	return req, nil
}

// send runs req and turns an error status into *Error. On success the
// caller owns the response body.
func (c *Client) send(req *http.Request) (*http.Response, error) {
	res, err := c.hc.Do(req)
	if err != nil {
		return nil, err
	}
	if res.StatusCode >= 400 {
		defer res.Body.Close()
		return nil, errorFrom(res)
	}
	return res, nil
}

// call sends in as JSON (when not nil) and decodes the answer into out
// (when not nil).
func (c *Client) call(ctx context.Context, method, path string, q url.Values, hdr http.Header, in, out any) (*http.Response, error) {
	var body io.Reader
	if in != nil {
		data, err := json.Marshal(in)
		if err != nil {
			return nil, fmt.Errorf("client: encode %s %s: %w", method, path, err)
		}
		body = bytes.NewReader(data)
	}
	req, err := c.newRequest(ctx, method, path, q, body)
	if err != nil {
		return nil, err
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := c.send(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	if out != nil {
		dec := json.NewDecoder(res.Body)
		dec.UseNumber() // parameter bounds reach 2^64-1; float64 would round them
		if err := dec.Decode(out); err != nil {
			return nil, fmt.Errorf("client: decode %s %s: %w", method, path, err)
		}
	}
	return res, nil
}

// errorFrom reads an error answer; a body that is not the API's error
// shape (a proxy's page, say) is kept, bounded, as the message.
func errorFrom(res *http.Response) error {
	data, _ := io.ReadAll(io.LimitReader(res.Body, 64<<10))
	e := &Error{StatusCode: res.StatusCode, RequestID: res.Header.Get("X-Request-Id"), RetryAfter: retryAfter(res.Header)}
	var body api.ErrorResponse
	if json.Unmarshal(data, &body) == nil && body.Error.Code != "" {
		b := body.Error
		e.Code, e.Message, e.Field, e.NodeErrors = b.Code, b.Message, b.Field, b.NodeErrors
		if b.RequestID != "" {
			e.RequestID = b.RequestID
		}
		return e
	}
	e.Code = "http_" + strconv.Itoa(res.StatusCode)
	e.Message = strings.TrimSpace(string(data))
	if e.Message == "" {
		e.Message = http.StatusText(res.StatusCode)
	}
	return e
}

func retryAfter(h http.Header) time.Duration {
	secs, err := strconv.Atoi(h.Get("Retry-After"))
	if err != nil || secs < 0 {
		return 0
	}
	return time.Duration(secs) * time.Second
}

// Backends lists the fleet's ComfyUI servers.
func (c *Client) Backends(ctx context.Context) ([]api.Backend, error) {
	var out api.BackendList
	if _, err := c.call(ctx, "GET", "/v1/backends", nil, nil, nil, &out); err != nil {
		return nil, err
	}
	return out.Backends, nil
}

// IsNotFound reports whether err is the server's 404.
func IsNotFound(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.StatusCode == http.StatusNotFound
}
