// Package safefetch fetches URLs that users hand the gateway (a job may name
// its input image by URL) without turning the gateway into a proxy into its
// own network.
//
// The checks that matter happen when a connection is dialed, on the address
// actually dialed: a host name that resolves (or re-resolves, DNS
// rebinding) to a loopback, private, link-local (cloud metadata) or other
// non-public address is refused, and so is every redirect hop, because each
// hop dials through the same guard. Sizes and time are bounded, and errors
// say what was refused and why ("url: host 10.0.0.1 is a private address").
package safefetch

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"syscall"
	"time"
)

// Config configures a Fetcher. Zero values take the documented defaults.
type Config struct {
	// AllowedHosts limits fetches (and redirects) to these hosts: exact names
	// or IP addresses, or "*.example.com" for subdomains. Default: any host
	// with a public address.
	AllowedHosts []string
	// AllowPrivate permits loopback, private (RFC 1918, fc00::/7), CGNAT and
	// benchmarking addresses, for image servers on an intranet. Link-local
	// (where cloud metadata services live), multicast, unspecified and
	// reserved addresses stay refused. Default false.
	AllowPrivate bool
	// AllowLoopback permits loopback addresses (127.0.0.0/8, ::1) and no
	// other private range: a receiver on the gateway's own host, as in the
	// demo and in tests. Default false.
	AllowLoopback bool
	// MaxBytes bounds a response body. Default 32 MiB.
	MaxBytes int64
	// Timeout bounds a whole fetch, redirects and body included.
	// Default 30 seconds.
	Timeout time.Duration
	// MaxRedirects bounds the redirects followed. Default 5.
	MaxRedirects int
	// HTTPClient is a template, e.g. for custom TLS roots: its Transport
	// (which must be an *http.Transport, or nil) is cloned and gets the
	// guarded dialer and no proxy; its Jar, Timeout and CheckRedirect are
	// replaced. Default: a fresh transport.
	HTTPClient *http.Client
}

// Fetcher fetches user-supplied URLs safely. It is safe for concurrent use.
type Fetcher struct {
	cfg       Config
	hosts     []hostPattern
	client    *http.Client
	transport *http.Transport
	// allow, in tests only, admits specific addresses (one test server) that
	// the rules would refuse.
	allow func(netip.AddrPort) bool
}

// New validates cfg and returns a Fetcher.
func New(cfg Config) (*Fetcher, error) {
	cfg.MaxBytes = cmp.Or(max(cfg.MaxBytes, 0), 32<<20)
	cfg.Timeout = cmp.Or(max(cfg.Timeout, 0), 30*time.Second)
	cfg.MaxRedirects = cmp.Or(max(cfg.MaxRedirects, 0), 5)
	f := &Fetcher{cfg: cfg}
	for _, p := range cfg.AllowedHosts {
		hp, err := parsePattern(p)
		if err != nil {
			return nil, fmt.Errorf("safefetch: %w", err)
		}
		f.hosts = append(f.hosts, hp)
	}
	t, err := f.newTransport()
	if err != nil {
		return nil, err
	}
	client := http.Client{}
	if cfg.HTTPClient != nil {
		client = *cfg.HTTPClient
	}
	client.Transport, client.Timeout, client.CheckRedirect = t, cfg.Timeout, f.checkRedirect
	client.Jar = nil // fetches of user URLs share no cookies
	f.client, f.transport = &client, t
	return f, nil
}

func (f *Fetcher) newTransport() (*http.Transport, error) {
	var t *http.Transport
	switch base := f.templateTransport().(type) {
	case nil:
		t = &http.Transport{
			ForceAttemptHTTP2:     true,
			MaxIdleConns:          16,
			IdleConnTimeout:       30 * time.Second,
			TLSHandshakeTimeout:   10 * time.Second,
			ExpectContinueTimeout: time.Second,
		}
	case *http.Transport:
		t = base.Clone()
	default:
		return nil, fmt.Errorf("safefetch: HTTPClient.Transport is %T; want *http.Transport so dials can be checked", base)
	}
	dialer := &net.Dialer{Timeout: 10 * time.Second, Control: f.control}
	// Every connection, TLS included, goes through the guarded dialer; a
	// proxy would dial on our behalf, unchecked.
	t.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		return f.dial(ctx, dialer, network, addr)
	}
	t.DialTLSContext, t.Proxy, t.OnProxyConnectResponse = nil, nil, nil
	//lint:ignore SA1019 deprecated, but a template's TLS dialer would still bypass the guard
	t.DialTLS = nil
	return t, nil
}

func (f *Fetcher) templateTransport() http.RoundTripper {
	if f.cfg.HTTPClient == nil {
		return nil
	}
	return f.cfg.HTTPClient.Transport
}

// CloseIdleConnections closes kept-alive connections, e.g. at shutdown.
func (f *Fetcher) CloseIdleConnections() { f.transport.CloseIdleConnections() }

// Fetch GETs rawURL and returns its body (at most MaxBytes; reading more
// fails with ErrTooLarge) and Content-Type. The caller closes the body.
func (f *Fetcher) Fetch(ctx context.Context, rawURL string) (io.ReadCloser, string, error) {
	u, err := f.checkURL(rawURL)
	if err != nil {
		return nil, "", err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, "", fmt.Errorf("%w: %v", ErrInvalidURL, err)
	}
	req.Header.Set("User-Agent", "comfygate")
	resp, err := f.client.Do(req)
	if err != nil {
		return nil, "", f.fetchError(u, err)
	}
	if err := f.checkResponse(resp); err != nil {
		resp.Body.Close()
		return nil, "", err
	}
	body := &limitedBody{rc: resp.Body, left: f.cfg.MaxBytes, limit: f.cfg.MaxBytes}
	return body, resp.Header.Get("Content-Type"), nil
}

func (f *Fetcher) checkResponse(resp *http.Response) error {
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return &StatusError{Code: resp.StatusCode, Status: resp.Status}
	}
	if resp.ContentLength > f.cfg.MaxBytes {
		return &TooLargeError{Limit: f.cfg.MaxBytes}
	}
	return nil
}

// fetchError surfaces our own refusals as they are (they name the problem)
// and wraps the rest with the host, not the URL: query strings may carry
// signatures or tokens.
func (f *Fetcher) fetchError(u *url.URL, err error) error {
	var blocked *BlockedError
	var invalid *URLError
	switch {
	case errors.As(err, &blocked):
		return blocked
	case errors.As(err, &invalid):
		return invalid
	case errors.Is(err, ErrTooManyRedirects):
		return fmt.Errorf("url: host %s: %w (more than %d)", u.Hostname(), ErrTooManyRedirects, f.cfg.MaxRedirects)
	}
	return fmt.Errorf("fetch from host %s: %w", u.Hostname(), err)
}

func (f *Fetcher) checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) > f.cfg.MaxRedirects {
		return ErrTooManyRedirects
	}
	_, err := f.checkURL(req.URL.String())
	return err
}

// dial dials through the guard, naming the URL's host in refusals.
func (f *Fetcher) dial(ctx context.Context, d *net.Dialer, network, addr string) (net.Conn, error) {
	conn, err := d.DialContext(ctx, network, addr)
	var blocked *BlockedError
	if err != nil && errors.As(err, &blocked) {
		host, _, _ := net.SplitHostPort(addr)
		named := *blocked
		named.Host = canonicalHost(host)
		return nil, &named
	}
	return conn, err
}

// control runs after name resolution and before connect(2), on the address
// about to be dialed: the one place a check cannot be raced by DNS.
func (f *Fetcher) control(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return &BlockedError{Host: address, Reason: "not an IP address"}
	}
	if f.allow != nil && f.allow(ap) {
		return nil
	}
	return f.checkAddr(ap.Addr().String(), ap.Addr())
}

// checkAddr applies the configured address rules.
func (f *Fetcher) checkAddr(host string, a netip.Addr) error {
	if f.cfg.AllowLoopback && a.WithZone("").Unmap().IsLoopback() {
		return nil
	}
	return checkAddr(host, a, f.cfg.AllowPrivate)
}

// CheckURL refuses a URL the fetcher would refuse to reach before any
// connection (syntax, scheme, credentials, allowed hosts, an IP literal
// outside the allowed addresses). Host names are checked again at dial
// time, on the address they resolve to.
func (f *Fetcher) CheckURL(raw string) error {
	_, err := f.checkURL(raw)
	return err
}

// NoRedirects returns a client with the fetcher's guarded transport that
// does not follow redirects (a 3xx is the answer) and has no overall
// timeout: callers bound each request with its context. Webhook
// deliveries use it, POSTing to URLs that users name.
func (f *Fetcher) NoRedirects() *http.Client {
	return &http.Client{Transport: f.transport, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}
}

// defaultPort returns the URL's port as a number.
func defaultPort(u *url.URL) uint16 {
	if p, err := strconv.ParseUint(u.Port(), 10, 16); err == nil {
		return uint16(p)
	}
	if u.Scheme == "https" {
		return 443
	}
	return 80
}
