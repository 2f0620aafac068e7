package httpapitest

import (
	"bytes"
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/comfygate/comfygate/api"
	"github.com/comfygate/comfygate/internal/httpapi"
)

// Stream is an httpapi.Stream the test feeds with Send and ends with End
// (both from one goroutine). Closed tells when the consumer let go.
type Stream struct {
	ch     chan api.Event
	closed chan struct{}
	once   sync.Once
	err    error // set by End before ch is closed
}

var _ httpapi.Stream = (*Stream)(nil)

// NewStream returns a stream with room for buffer events.
func NewStream(buffer int) *Stream {
	return &Stream{ch: make(chan api.Event, buffer), closed: make(chan struct{})}
}

// StreamOf returns a stream that yields evs and then ends.
func StreamOf(evs ...api.Event) *Stream {
	s := NewStream(len(evs))
	for _, ev := range evs {
		s.ch <- ev
	}
	s.End(nil)
	return s
}

// Send hands ev to the consumer; it fails when ctx ends or the consumer
// closed the stream.
func (s *Stream) Send(ctx context.Context, ev api.Event) error {
	select {
	case s.ch <- ev:
		return nil
	case <-s.closed:
		return context.Canceled
	case <-ctx.Done():
		return ctx.Err()
	}
}

// End ends the stream with err (nil: a normal end).
func (s *Stream) End(err error) {
	s.err = err
	close(s.ch)
}

func (s *Stream) Events() <-chan api.Event { return s.ch }
func (s *Stream) Err() error               { return s.err }
func (s *Stream) Close()                   { s.once.Do(func() { close(s.closed) }) }

// Closed is closed once the consumer called Close.
func (s *Stream) Closed() <-chan struct{} { return s.closed }

// Artifact is an in-memory httpapi.Artifact.
type Artifact struct {
	*bytes.Reader
	NameV, TypeV, ETagV string
	ModTimeV            time.Time
	closed              atomic.Bool
}

var _ httpapi.Artifact = (*Artifact)(nil)

// NewArtifact wraps data.
func NewArtifact(data []byte, name, contentType, etag string, mod time.Time) *Artifact {
	return &Artifact{Reader: bytes.NewReader(data), NameV: name, TypeV: contentType, ETagV: etag, ModTimeV: mod}
}

func (a *Artifact) Name() string        { return a.NameV }
func (a *Artifact) ContentType() string { return a.TypeV }
func (a *Artifact) ModTime() time.Time  { return a.ModTimeV }
func (a *Artifact) ETag() string        { return a.ETagV }
func (a *Artifact) Close() error        { a.closed.Store(true); return nil }

// IsClosed reports whether the handler closed the artifact.
func (a *Artifact) IsClosed() bool { return a.closed.Load() }
