package httpapi

import (
	"context"
	"encoding/json"
	"sync"

	"github.com/comfygate/comfygate/api"
	"github.com/comfygate/comfygate/internal/events"
	"github.com/comfygate/comfygate/internal/gateway"
	"github.com/comfygate/comfygate/internal/job"
)

// wireStream is a gateway subscription rendered as REST events, on a
// goroutine it owns that ends when the subscription does.
type wireStream struct {
	sub  *events.Subscription
	out  chan api.Event
	done chan struct{}
	once sync.Once
	err  error
}

func newWireStream(ctx context.Context, svc *gateway.Service, owner string, sub *events.Subscription) *wireStream {
	st := &wireStream{sub: sub, out: make(chan api.Event), done: make(chan struct{})}
	go func() {
		defer close(st.done)
		defer close(st.out)
		for e := range sub.C() {
			select {
			case st.out <- wireEvent(ctx, svc, owner, e):
			case <-ctx.Done():
				st.once.Do(sub.Close)
			}
		}
		st.err = sub.Err()
	}()
	return st
}

// Events implements Stream.
func (st *wireStream) Events() <-chan api.Event { return st.out }

// Err implements Stream.
func (st *wireStream) Err() error {
	<-st.done
	return st.err
}

// Close implements Stream: it ends the stream and waits for its goroutine.
func (st *wireStream) Close() {
	st.once.Do(st.sub.Close)
	<-st.done
}

// wireEvent renders a hub event for the REST stream. Names and payloads
// are the domain's (internal/job), whose encoding is the wire's, so they
// pass through (wire_test.go holds the two equal), with a backend's words
// as the owner may read them (gateway.ShownEvent); terminal events, which
// carry no payload of their own, carry the final job.
func wireEvent(ctx context.Context, svc *gateway.Service, owner string, e events.Event) api.Event {
	e = svc.ShownEvent(owner, e)
	w := api.Event{ID: e.ID().String(), JobID: e.JobID, Type: e.Type, Time: e.Time, Data: e.Data}
	if job.TerminalEvent(e.Type) {
		if j, err := svc.EndedJob(ctx, owner, e); err == nil {
			w.Data, _ = json.Marshal(jobView(j))
		}
	}
	if len(w.Data) == 0 {
		w.Data = json.RawMessage("{}")
	}
	return w
}
