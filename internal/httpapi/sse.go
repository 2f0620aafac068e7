package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/comfygate/comfygate/api"
)

func (s *Server) jobEventsSSE(w http.ResponseWriter, r *http.Request) error {
	return s.serveJobStream(w, r, s.serveSSE)
}

func (s *Server) ownerEventsSSE(w http.ResponseWriter, r *http.Request) error {
	return s.serveOwnerStream(w, r, s.serveSSE)
}

// serveSSE copies st to the client as Server-Sent Events, events that
// come together in one flush, with a comment line as keepalive on idle streams. It ends after a
// terminal event (if endOnTerminal), when st ends, when the client goes, or
// on Drain.
func (s *Server) serveSSE(w http.ResponseWriter, r *http.Request, st Stream, endOnTerminal bool) error {
	out := &sseWriter{w: w, rc: http.NewResponseController(w), timeout: s.cfg.StreamWriteTimeout}
	// A server-wide ReadTimeout would otherwise cancel a long stream.
	_ = out.rc.SetReadDeadline(time.Time{})
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no") // tell nginx-like proxies not to buffer
	w.WriteHeader(http.StatusOK)
	s.metrics.streams.WithLabelValues("sse").Inc()
	defer s.metrics.streams.WithLabelValues("sse").Dec()
	if err := out.write("retry: 1000\n\n"); err != nil {
		return streamWriteErr(r, err)
	}
	_, err := s.pumpStream(r.Context(), r, st, out, endOnTerminal)
	return err
}

type sseWriter struct {
	w       http.ResponseWriter
	rc      *http.ResponseController
	timeout time.Duration
	buf     []byte
}

// event frames ev (id and event lines, then its JSON as data) into the
// buffer that flush writes. Marshalled JSON has no raw newlines, but any
// are split into data lines regardless, since one would end the event
// early.
func (o *sseWriter) event(ctx context.Context, ev api.Event) error {
	data, err := json.Marshal(ev)
	if err != nil {
		return fmt.Errorf("encode event %s: %w", ev.ID, err)
	}
	b := o.buf
	b = append(b, "id: "...)
	b = append(b, oneLine(ev.ID)...)
	b = append(b, "\nevent: "...)
	b = append(b, oneLine(ev.Type)...)
	for line := range strings.SplitSeq(string(data), "\n") {
		b = append(b, "\ndata: "...)
		b = append(b, line...)
	}
	b = append(b, "\n\n"...)
	o.buf = b
	if len(b) >= sseBatchBytes {
		return o.flush(ctx)
	}
	return nil
}

// sseBatchBytes bounds what the stream holds before it writes: past it an
// event is written at once, and a buffer grown larger is let go after.
const sseBatchBytes = 64 << 10

// flush writes the events framed so far.
func (o *sseWriter) flush(context.Context) error {
	if len(o.buf) == 0 {
		return nil
	}
	err := o.send(o.buf)
	o.buf = o.buf[:0]
	if cap(o.buf) > sseBatchBytes {
		o.buf = nil
	}
	return err
}

// keepalive is a comment line, which clients ignore.
func (o *sseWriter) keepalive(context.Context) error { return o.write(": keepalive\n\n") }

func (o *sseWriter) write(s string) error { return o.send([]byte(s)) }

// send writes p under a deadline, so one stuck client is dropped (and may
// resume) rather than holding its goroutine and buffers forever.
func (o *sseWriter) send(p []byte) error {
	if err := o.rc.SetWriteDeadline(time.Now().Add(o.timeout)); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return err
	}
	if _, err := o.w.Write(p); err != nil {
		return err
	}
	return o.rc.Flush()
}

func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\n' || r == '\r' {
			return ' '
		}
		return r
	}, s)
}
