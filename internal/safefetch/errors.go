package safefetch

import (
	"errors"
	"fmt"
	"io"
	"net/netip"
	"net/url"
)

// Errors callers branch on with errors.Is.
var (
	ErrBlocked          = errors.New("address not allowed")
	ErrNotAllowed       = errors.New("host not allowed")
	ErrInvalidURL       = errors.New("invalid url")
	ErrTooLarge         = errors.New("response too large")
	ErrTooManyRedirects = errors.New("too many redirects")
)

// BlockedError is a refusal to reach an address outside the public
// internet. It matches ErrBlocked.
type BlockedError struct {
	Host   string     // the host as the URL named it
	Addr   netip.Addr // the address it resolved to
	Reason string     // e.g. "a private address"
}

func (e *BlockedError) Error() string {
	if !e.Addr.IsValid() || e.Host == e.Addr.String() {
		return fmt.Sprintf("url: host %s is %s", e.Host, e.Reason)
	}
	return fmt.Sprintf("url: host %s resolves to %s, %s", e.Host, e.Addr, e.Reason)
}

func (e *BlockedError) Is(target error) bool { return target == ErrBlocked }

// URLError is a URL refused before any connection: bad syntax or scheme,
// credentials, or a host not in AllowedHosts. It matches ErrInvalidURL or
// ErrNotAllowed.
type URLError struct {
	Problem string
	kind    error
}

func (e *URLError) Error() string        { return "url: " + e.Problem }
func (e *URLError) Is(target error) bool { return target == e.kind }

func invalidURL(format string, args ...any) error {
	return &URLError{Problem: fmt.Sprintf(format, args...), kind: ErrInvalidURL}
}

// StatusError is a non-2xx answer.
type StatusError struct {
	Code   int
	Status string // e.g. "404 Not Found"
}

func (e *StatusError) Error() string { return "url: server answered " + e.Status }

// TooLargeError is a body over MaxBytes. It matches ErrTooLarge.
type TooLargeError struct {
	Limit int64
}

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("url: response larger than %d bytes", e.Limit)
}

func (e *TooLargeError) Is(target error) bool { return target == ErrTooLarge }

// maxURLLen bounds the URLs accepted.
const maxURLLen = 4096

// checkURL refuses what no connection should be attempted for. The address
// checks on host names happen at dial time; IP literals are checked here
// too, for a clear error without a dial.
func (f *Fetcher) checkURL(raw string) (*url.URL, error) {
	if len(raw) > maxURLLen {
		return nil, invalidURL("longer than %d bytes", maxURLLen)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, invalidURL("cannot parse: %v", errors.Unwrap(err))
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, invalidURL("scheme %q is not allowed (want http or https)", u.Scheme)
	case u.User != nil:
		return nil, invalidURL("credentials in the URL are not allowed")
	case u.Hostname() == "":
		return nil, invalidURL("no host")
	}
	host := canonicalHost(u.Hostname())
	if len(f.hosts) > 0 && !f.hostAllowed(host) {
		return nil, &URLError{Problem: fmt.Sprintf("host %s is not in the allowed hosts", host), kind: ErrNotAllowed}
	}
	if a, err := netip.ParseAddr(host); err == nil {
		if f.allow != nil && f.allow(netip.AddrPortFrom(a, defaultPort(u))) {
			return u, nil
		}
		if err := f.checkAddr(host, a); err != nil {
			return nil, err
		}
	}
	return u, nil
}

func (f *Fetcher) hostAllowed(host string) bool {
	for _, p := range f.hosts {
		if p.match(host) {
			return true
		}
	}
	return false
}

// limitedBody passes at most limit bytes and fails, rather than truncates,
// when there are more.
type limitedBody struct {
	rc    io.ReadCloser
	left  int64
	limit int64
}

func (b *limitedBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		var one [1]byte
		n, err := b.rc.Read(one[:])
		if n > 0 {
			return 0, &TooLargeError{Limit: b.limit}
		}
		return 0, err
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.rc.Read(p)
	b.left -= int64(n)
	return n, err
}

func (b *limitedBody) Close() error { return b.rc.Close() }
