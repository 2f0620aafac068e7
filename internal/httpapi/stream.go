package httpapi

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/comfygate/comfygate/api"
)

// streamServer writes an open Stream to one client over one transport (SSE
// or WebSocket), ending after a terminal event if endOnTerminal.
type streamServer func(w http.ResponseWriter, r *http.Request, st Stream, endOnTerminal bool) error

// serveJobStream opens the job stream before any byte is written, so that an
// unknown job or a bad Last-Event-ID is still an ordinary JSON error. A job
// stream ends with the job.
func (s *Server) serveJobStream(w http.ResponseWriter, r *http.Request, serve streamServer) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	last, err := lastEventID(r)
	if err != nil {
		return err
	}
	st, err := s.svc.SubscribeJob(r.Context(), ownerOf(r), id, last)
	if err != nil {
		return err
	}
	defer st.Close()
	return serve(w, r, st, true)
}

// serveOwnerStream follows all the owner's jobs, so no event ends it.
func (s *Server) serveOwnerStream(w http.ResponseWriter, r *http.Request, serve streamServer) error {
	st, err := s.svc.SubscribeOwner(r.Context(), ownerOf(r))
	if err != nil {
		return err
	}
	defer st.Close()
	return serve(w, r, st, false)
}

// eventSink is a transport's way of writing to a stream's client. event
// may hold what it writes until flush, so that events that come together
// leave in one write.
type eventSink interface {
	event(ctx context.Context, ev api.Event) error
	flush(ctx context.Context) error
	keepalive(ctx context.Context) error
}

// streamEnd says why pumpStream returned, so a transport can close its way.
type streamEnd int

const (
	endClient   streamEnd = iota // the client left, or writing to it failed
	endStream                    // st ended; the error returned is st.Err()
	endTerminal                  // a terminal event was sent and endOnTerminal
	endDrain                     // the server is draining
)

// pumpStream copies st to sink, with a keepalive every cfg.Keepalive, until
// one of the streamEnd reasons. ctx is the client's lifetime.
func (s *Server) pumpStream(ctx context.Context, r *http.Request, st Stream, sink eventSink, endOnTerminal bool) (streamEnd, error) {
	tick := time.NewTicker(s.cfg.Keepalive)
	defer tick.Stop()
	for {
		select {
		case ev, ok := <-st.Events():
			if !ok {
				return endStream, st.Err()
			}
			end, err := sendBurst(ctx, st, sink, ev, endOnTerminal)
			if err != nil {
				return endClient, streamWriteErr(r, err)
			}
			switch end {
			case endStream:
				return end, st.Err()
			case endTerminal:
				return end, nil
			}
		case <-tick.C:
			if err := sink.keepalive(ctx); err != nil {
				return endClient, streamWriteErr(r, err)
			}
		case <-ctx.Done():
			return endClient, nil
		case <-s.drained:
			return endDrain, nil
		}
	}
}

// maxBurst bounds how many events one flush carries.
const maxBurst = 64

// sendBurst writes ev and the events that are ready behind it (at most
// maxBurst), then flushes them together. It returns endClient to go on,
// endTerminal after a terminal event when endOnTerminal, endStream when st
// ended.
func sendBurst(ctx context.Context, st Stream, sink eventSink, ev api.Event, endOnTerminal bool) (streamEnd, error) {
	end := endClient
	for n := 1; ; n++ {
		if err := sink.event(ctx, ev); err != nil {
			return endClient, err
		}
		if endOnTerminal && api.TerminalEvent(ev.Type) {
			end = endTerminal
			break
		}
		if n == maxBurst {
			break
		}
		var ok, ready bool
		select {
		case ev, ok = <-st.Events():
			ready = true
		default:
		}
		if !ready {
			break
		}
		if !ok {
			end = endStream
			break
		}
	}
	return end, sink.flush(ctx)
}

// streamWriteErr drops errors that only say the client left.
func streamWriteErr(r *http.Request, err error) error {
	if r.Context().Err() != nil {
		return nil
	}
	return fmt.Errorf("write event stream: %w", err)
}
