package gateway

import (
	"context"
	"encoding/json"
	"sync"

	"github.com/comfygate/comfygate/api"
	"github.com/comfygate/comfygate/internal/events"
	"github.com/comfygate/comfygate/internal/job"
)

// Stream is a live, ordered stream of job events.
type Stream struct {
	sub  *events.Subscription
	out  chan api.Event
	done chan struct{}
	once sync.Once
	err  error
}

// Events delivers the stream; it is closed when the stream ends.
func (st *Stream) Events() <-chan api.Event { return st.out }

// Err says why the stream ended: nil after a terminal event or Close.
func (st *Stream) Err() error {
	<-st.done
	return st.err
}

// Close ends the stream and waits for its goroutine.
func (st *Stream) Close() {
	st.once.Do(st.sub.Close)
	<-st.done
}

// SubscribeJob streams a job's events after lastEventID ("" = all), live
// until its terminal event, which carries the final job.
func (s *Service) SubscribeJob(ctx context.Context, owner, jobID, lastEventID string) (*Stream, error) {
	if _, err := s.ownedJob(ctx, owner, jobID); err != nil {
		return nil, err
	}
	var after events.ID
	if lastEventID != "" {
		var err error
		if after, err = events.ParseID(lastEventID); err != nil {
			return nil, &InputError{Field: "Last-Event-ID", Problem: err.Error()}
		}
	}
	sub, err := s.cfg.Hub.Subscribe(ctx, jobID, after)
	if err != nil {
		return nil, err
	}
	return s.stream(ctx, sub), nil
}

// SubscribeOwner streams the live events of all of a caller's jobs.
func (s *Service) SubscribeOwner(ctx context.Context, owner string) (*Stream, error) {
	sub, err := s.cfg.Hub.SubscribeAll(ctx, owner)
	if err != nil {
		return nil, err
	}
	return s.stream(ctx, sub), nil
}

// stream converts hub events to wire events on a goroutine it owns; the
// goroutine ends when the subscription does.
func (s *Service) stream(ctx context.Context, sub *events.Subscription) *Stream {
	st := &Stream{sub: sub, out: make(chan api.Event), done: make(chan struct{})}
	go func() {
		defer close(st.done)
		defer close(st.out)
		for e := range sub.C() {
			select {
			case st.out <- s.wireEvent(ctx, e):
			case <-ctx.Done():
				st.once.Do(sub.Close)
			}
		}
		st.err = sub.Err()
	}()
	return st
}

// wireEvent renders a hub event for the REST stream. Names and payloads
// are the domain's (internal/job), whose encoding is the wire's, so they
// pass through (wire_test.go holds the two equal); terminal events, which
// carry no payload of their own, carry the final job.
func (s *Service) wireEvent(ctx context.Context, e events.Event) api.Event {
	w := api.Event{ID: e.ID().String(), JobID: e.JobID, Type: e.Type, Time: e.Time, Data: e.Data}
	if job.TerminalEvent(e.Type) {
		if j, err := s.cfg.Store.GetJob(ctx, e.JobID); err == nil {
			w.Data, _ = json.Marshal(s.view(j))
		}
	}
	if len(w.Data) == 0 {
		w.Data = json.RawMessage("{}")
	}
	return w
}

// Replayer serves the hub's resumes from the store's durable events.
func Replayer(store job.Store) events.Replayer { return replayer{store} }

type replayer struct{ store job.Store }

func (r replayer) ListEvents(ctx context.Context, jobID string, afterSeq int64, limit int) ([]events.Event, error) {
	list, err := r.store.ListEvents(ctx, jobID, afterSeq, limit)
	if err != nil {
		return nil, err
	}
	out := make([]events.Event, len(list))
	for i, e := range list {
		out[i] = events.FromStore("", e)
	}
	return out, nil
}
