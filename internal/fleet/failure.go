package fleet

import (
	"context"
	"errors"
	"net"
	"strconv"
	"syscall"
	"time"

	"github.com/comfygate/comfygate/comfy"
)

// failure is the most recent thing that went wrong with a backend, as the
// admin view shows it: a reason safe to show any API key, and when.
type failure struct {
	reason string
	at     time.Time
}

// noteFailure records what just went wrong with b. what says which check
// failed ("probe", "socket down"); err, when there is one, says how.
func (f *Fleet) noteFailure(b *Backend, what string, err error) {
	reason := what
	if r := publicReason(err); r != "" {
		reason += ": " + r
	}
	b.lastFailure.Store(&failure{reason: reason, at: f.clock.Now()})
}

// publicReason says what err means without what the view must not show:
// the log has the full error, but the backend view is read by every key,
// and a resolver's address or a proxy's error page is no one's business.
func publicReason(err error) string {
	var (
		dns     *net.DNSError
		status  *comfy.HTTPError
		netErr  net.Error
		errnoer syscall.Errno
	)
	switch {
	case err == nil:
		return ""
	case errors.As(err, &dns):
		if dns.IsNotFound {
			return "cannot resolve " + dns.Name + ": no such host"
		}
		return "cannot resolve " + dns.Name
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout():
		return "timed out"
	case errors.As(err, &errnoer):
		return errnoText(errnoer)
	case errors.As(err, &status):
		return status.Method + " " + status.Path + " answered " + strconv.Itoa(status.Status)
	case errors.Is(err, comfy.ErrTooLarge):
		return "answer too large"
	}
	return "request failed"
}

func errnoText(e syscall.Errno) string {
	switch e {
	case syscall.ECONNREFUSED:
		return "connection refused"
	case syscall.ECONNRESET:
		return "connection reset"
	case syscall.EHOSTUNREACH, syscall.ENETUNREACH:
		return "host unreachable"
	}
	return "network error"
}
