package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/comfygate/comfygate/api"
)

// chanStream is a Stream over a channel the test fills.
type chanStream struct{ c chan api.Event }

func (s chanStream) Events() <-chan api.Event { return s.c }
func (s chanStream) Err() error               { return nil }
func (s chanStream) Close()                   {}

// recordingSink notes each call, "e<id>" for an event and "flush".
type recordingSink struct{ calls []string }

func (r *recordingSink) event(_ context.Context, ev api.Event) error {
	r.calls = append(r.calls, "e"+ev.ID)
	return nil
}
func (r *recordingSink) flush(context.Context) error     { r.calls = append(r.calls, "flush"); return nil }
func (r *recordingSink) keepalive(context.Context) error { return nil }

func eventsOf(types ...string) []api.Event {
	out := make([]api.Event, len(types))
	for i, t := range types {
		out[i] = api.Event{ID: fmt.Sprint(i + 1), Type: t}
	}
	return out
}

// Events that are ready together go out in one flush; a terminal event, the
// stream's end, the burst cap or an empty channel each end a burst.
func TestSendBurst(t *testing.T) {
	t.Parallel()
	// maxBurst+1 events behind the first: a flush carries the first
	// maxBurst, e0 to e63.
	many := make([]string, maxBurst+1)
	capped := []string{"e0"}
	for i := range many {
		many[i] = "progress"
		if i < maxBurst-1 {
			capped = append(capped, fmt.Sprintf("e%d", i+1))
		}
	}
	capped = append(capped, "flush")
	tests := []struct {
		name          string
		ready         []api.Event // in the channel behind the first
		close         bool
		endOnTerminal bool
		want          []string
		wantEnd       streamEnd
	}{
		{"alone", nil, false, true, []string{"e0", "flush"}, endClient},
		{"ready together", eventsOf("node", "progress", "output"), false, true, []string{"e0", "e1", "e2", "e3", "flush"}, endClient},
		{"terminal ends it", eventsOf("output", "succeeded", "node"), false, true, []string{"e0", "e1", "e2", "flush"}, endTerminal},
		{"terminal on an owner stream", eventsOf("succeeded", "queued"), false, false, []string{"e0", "e1", "e2", "flush"}, endClient},
		{"stream ends", eventsOf("node"), true, true, []string{"e0", "e1", "flush"}, endStream},
		{"capped", eventsOf(many...), false, true, capped, endClient},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			st := chanStream{c: make(chan api.Event, len(tc.ready))}
			for _, ev := range tc.ready {
				st.c <- ev
			}
			if tc.close {
				close(st.c)
			}
			sink := &recordingSink{}
			end, err := sendBurst(t.Context(), st, sink, api.Event{ID: "0", Type: "queued"}, tc.endOnTerminal)
			if err != nil || end != tc.wantEnd {
				t.Errorf("sendBurst = %v, %v; want %v", end, err, tc.wantEnd)
			}
			if diff := cmp.Diff(tc.want, sink.calls); diff != "" {
				t.Errorf("calls (-want +got):\n%s", diff)
			}
		})
	}
}

// countingWriter counts the writes that reach the client.
type countingWriter struct {
	*httptest.ResponseRecorder
	writes int
}

func (c *countingWriter) Write(p []byte) (int, error) {
	c.writes++
	return c.ResponseRecorder.Write(p)
}

// The SSE writer holds framed events until flush, and writes at once past
// sseBatchBytes, so a burst of large events is never held whole.
func TestSSEWriterBatches(t *testing.T) {
	t.Parallel()
	w := &countingWriter{ResponseRecorder: httptest.NewRecorder()}
	o := &sseWriter{w: w, rc: http.NewResponseController(w), timeout: time.Minute}
	for _, ev := range eventsOf("node", "progress") {
		if err := o.event(t.Context(), ev); err != nil {
			t.Fatal(err)
		}
	}
	if w.writes != 0 {
		t.Fatalf("%d writes before flush, want 0", w.writes)
	}
	if err := o.flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	var want strings.Builder
	for _, ev := range eventsOf("node", "progress") {
		data, _ := json.Marshal(ev)
		fmt.Fprintf(&want, "id: %s\nevent: %s\ndata: %s\n\n", ev.ID, ev.Type, data)
	}
	if got := w.Body.String(); w.writes != 1 || got != want.String() {
		t.Errorf("%d writes of %q, want 1 of %q", w.writes, got, want.String())
	}
	big := api.Event{ID: "3", Type: "output", Data: []byte(`"` + strings.Repeat("x", sseBatchBytes) + `"`)}
	if err := o.event(t.Context(), big); err != nil {
		t.Fatal(err)
	}
	if w.writes != 2 {
		t.Errorf("%d writes after an event past %d bytes, want it written at once", w.writes, sseBatchBytes)
	}
	if cap(o.buf) > sseBatchBytes {
		t.Errorf("the writer keeps a %d-byte buffer after writing", cap(o.buf))
	}
}
