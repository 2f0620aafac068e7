package httpapi

import (
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/comfygate/comfygate/api"
)

// limiter pushes back per key before work starts: a request rate, a cap on
// requests in flight and a cap on open streams. Entries exist only for
// authenticated owners, so the map is bounded by the configured keys.
type limiter struct {
	rate       rate.Limit
	burst      int
	maxFlight  int64
	maxStreams int64
	now        func() time.Time

	mu    sync.Mutex // guards byKey
	byKey map[string]*keyLimits
}

type keyLimits struct {
	rate     *rate.Limiter // nil when unlimited
	inFlight atomic.Int64
	streams  atomic.Int64
}

func newLimiter(cfg Config) *limiter {
	return &limiter{
		rate: rate.Limit(cfg.RatePerKey), burst: cfg.RateBurst,
		maxFlight: int64(cfg.MaxInFlightPerKey), maxStreams: int64(cfg.MaxStreamsPerKey),
		now: cfg.Now, byKey: make(map[string]*keyLimits),
	}
}

func (l *limiter) of(owner string) *keyLimits {
	l.mu.Lock()
	defer l.mu.Unlock()
	k := l.byKey[owner]
	if k == nil {
		k = &keyLimits{}
		if l.rate > 0 {
			k.rate = rate.NewLimiter(l.rate, l.burst)
		}
		l.byKey[owner] = k
	}
	return k
}

// acquire admits one request of owner or says when to come back. release
// must be called when the request ends.
func (l *limiter) acquire(owner string, stream bool) (release func(), err error) {
	k := l.of(owner)
	if err := l.checkRate(k); err != nil {
		return nil, err
	}
	counter, limit, what := &k.inFlight, l.maxFlight, "requests in flight"
	if stream {
		counter, limit, what = &k.streams, l.maxStreams, "open event streams"
	}
	if n := counter.Add(1); limit > 0 && n > limit {
		counter.Add(-1)
		return nil, &Error{Status: http.StatusTooManyRequests, Code: api.CodeRateLimited,
			Message: fmt.Sprintf("too many %s for this key (limit %d)", what, limit), RetryAfter: time.Second}
	}
	return func() { counter.Add(-1) }, nil
}

func (l *limiter) checkRate(k *keyLimits) error {
	if k.rate == nil {
		return nil
	}
	now := l.now()
	res := k.rate.ReserveN(now, 1)
	if !res.OK() {
		return &Error{Status: http.StatusTooManyRequests, Code: api.CodeRateLimited, Message: "rate limit exceeded", RetryAfter: time.Second}
	}
	if d := res.DelayFrom(now); d > 0 {
		res.CancelAt(now)
		return &Error{Status: http.StatusTooManyRequests, Code: api.CodeRateLimited,
			Message: fmt.Sprintf("rate limit of %g requests/s exceeded", float64(l.rate)), RetryAfter: d}
	}
	return nil
}
