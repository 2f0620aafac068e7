// Package inflight bounds the request-body bytes each API key has in
// memory at once, across every surface.
//
// A JSON body is read whole and then decoded, validated and stored: its
// memory lives as long as its request. A surface takes the body's bytes
// from its key's share before it reads the body (Content-Length, or the
// route's limit when the length is not announced) and gives them back when
// the request ends. A key that has its whole share in flight waits for
// its own requests to end; other keys are not held up.
package inflight

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"

	"golang.org/x/sync/semaphore"
)

// ErrTooLarge is returned for a body larger than a key's whole share.
var ErrTooLarge = errors.New("request body larger than a key's bytes in flight")

// Limiter gives each key PerKey bytes of bodies in flight. The zero value
// is not usable; create it with New. A nil *Limiter bounds nothing.
type Limiter struct {
	perKey int64
	mu     sync.Mutex // guards keys
	keys   map[string]*share
}

// share is one key's semaphore and how many requests use it, so that a key
// without requests in flight holds no memory here.
type share struct {
	sem   *semaphore.Weighted
	users int   // requests holding or waiting for bytes
	held  int64 // bytes held
}

// New returns a limiter of perKey bytes a key.
func New(perKey int64) *Limiter {
	return &Limiter{perKey: perKey, keys: map[string]*share{}}
}

// PerKey is each key's share in bytes.
func (l *Limiter) PerKey() int64 { return l.perKey }

// Acquire takes n bytes of key's share, waiting while the key's other
// requests hold them, until ctx ends (its error). n above the whole share
// is ErrTooLarge at once. release gives the bytes back; call it once.
func (l *Limiter) Acquire(ctx context.Context, key string, n int64) (release func(), err error) {
	if l == nil {
		return func() {}, nil
	}
	n = max(n, 1)
	if n > l.perKey {
		return nil, fmt.Errorf("%w: %d bytes, a key may have %d in flight", ErrTooLarge, n, l.perKey)
	}
	s := l.join(key)
	if err := s.sem.Acquire(ctx, n); err != nil {
		l.leave(key, s, 0)
		return nil, err
	}
	l.mu.Lock()
	s.held += n
	l.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			s.sem.Release(n)
			l.leave(key, s, n)
		})
	}, nil
}

// Stats reports the bytes key holds and how many of its requests hold or
// wait for bytes.
func (l *Limiter) Stats(key string) (held int64, requests int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if s := l.keys[key]; s != nil {
		return s.held, s.users
	}
	return 0, 0
}

func (l *Limiter) join(key string) *share {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.keys[key]
	if s == nil {
		s = &share{sem: semaphore.NewWeighted(l.perKey)}
		l.keys[key] = s
	}
	s.users++
	return s
}

func (l *Limiter) leave(key string, s *share, held int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	s.held -= held
	if s.users--; s.users == 0 {
		delete(l.keys, key)
	}
}

// fits reports whether n more bytes of key's share are free now (for
// tests).
func (l *Limiter) fits(key string, n int64) bool {
	s := l.join(key)
	defer l.leave(key, s, 0)
	if !s.sem.TryAcquire(n) {
		return false
	}
	s.sem.Release(n)
	return true
}

// keys counts the keys with requests in flight (for tests).
func (l *Limiter) active() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.keys)
}

// Body takes the bytes r's body will hold for key: its Content-Length, or
// limit when the length is not announced (a body over limit is refused by
// the caller's own reader). A request without a body takes nothing.
func (l *Limiter) Body(r *http.Request, key string, limit int64) (release func(), err error) {
	n := r.ContentLength
	switch {
	case r.Body == nil || r.Body == http.NoBody || n == 0:
		return func() {}, nil
	case n < 0 || n > limit:
		n = limit
	}
	return l.Acquire(r.Context(), key, n)
}
