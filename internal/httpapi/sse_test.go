package httpapi_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/comfygate/comfygate/api"
	"github.com/comfygate/comfygate/internal/httpapi"
	"github.com/comfygate/comfygate/internal/httpapi/httpapitest"
)

// frame is one SSE block: an event (id, event, data) or a comment.
type frame struct {
	id, event, data, comment string
}

type sseReader struct {
	tb   testing.TB
	res  *http.Response
	br   *bufio.Reader
	stop context.CancelFunc
}

// openSSE starts GET path and checks it is an event stream.
func openSSE(tb testing.TB, ts *httptest.Server, path string, hdr ...string) *sseReader {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), guard)
	req, _ := http.NewRequestWithContext(ctx, "GET", ts.URL+path, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := ts.Client().Do(req)
	if err != nil {
		cancel()
		tb.Fatalf("GET %s: %v", path, err)
	}
	tb.Cleanup(func() { cancel(); res.Body.Close() })
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "text/event-stream" {
		body, _ := io.ReadAll(res.Body)
		tb.Fatalf("GET %s: %d %s %s", path, res.StatusCode, res.Header.Get("Content-Type"), body)
	}
	return &sseReader{tb: tb, res: res, br: bufio.NewReader(res.Body), stop: cancel}
}

// next reads one frame; io.EOF when the server closed the stream.
func (r *sseReader) next() (frame, error) {
	var f frame
	for {
		line, err := r.br.ReadString('\n')
		if err != nil {
			if err == io.EOF && line == "" {
				return f, io.EOF
			}
			return f, fmt.Errorf("read: %w (partial %q)", err, line)
		}
		line = strings.TrimSuffix(line, "\n")
		if line == "" {
			if f != (frame{}) {
				return f, nil
			}
			continue
		}
		field, value, _ := strings.Cut(line, ":")
		value = strings.TrimPrefix(value, " ")
		switch field {
		case "":
			f.comment = value
		case "id":
			f.id = value
		case "event":
			f.event = value
		case "data":
			f.data += value
		case "retry":
		default:
			return f, fmt.Errorf("unknown field in %q", line)
		}
	}
}

// events reads frames to the end of the stream, skipping comments.
func (r *sseReader) events() []frame {
	r.tb.Helper()
	var out []frame
	for {
		f, err := r.next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			r.tb.Fatalf("stream: %v", err)
		}
		if f.comment == "" {
			out = append(out, f)
		}
	}
}

func ev(id, typ string) api.Event {
	return api.Event{ID: id, JobID: "j1", Type: typ, Time: testTime, Data: json.RawMessage(`{"position":0}`)}
}

func framesOf(evs ...api.Event) []frame {
	var out []frame
	for _, e := range evs {
		data, _ := json.Marshal(e)
		out = append(out, frame{id: e.ID, event: e.Type, data: string(data)})
	}
	return out
}

// recordingSubscribe serves the given events after whatever id it is asked
// for, and records that id.
func recordingSubscribe(got chan<- string, evs ...api.Event) *httpapitest.Service {
	return &httpapitest.Service{
		SubscribeJobFunc: func(_ context.Context, _, jobID, last string) (httpapi.Stream, error) {
			got <- last
			return httpapitest.StreamOf(evs...), nil
		},
	}
}

func TestSSEResume(t *testing.T) {
	t.Parallel()
	evs := []api.Event{ev("3", api.EventDispatched), ev("3.1", api.EventProgress), ev("4", api.EventSucceeded), ev("5", api.EventQueued)}
	tests := []struct {
		name     string
		path     string
		hdr      []string
		wantLast string
	}{
		{"from the start", "/v1/jobs/j1/events", nil, ""},
		{"header", "/v1/jobs/j1/events", []string{"Last-Event-ID", "2"}, "2"},
		{"query", "/v1/jobs/j1/events?last_event_id=2.7", nil, "2.7"},
		{"header wins over query", "/v1/jobs/j1/events?last_event_id=1", []string{"Last-Event-ID", "002"}, "2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := make(chan string, 1)
			_, ts := start(t, recordingSubscribe(got, evs...), httpapi.Config{})
			frames := openSSE(t, ts, tt.path, tt.hdr...).events()
			if last := <-got; last != tt.wantLast {
				t.Errorf("service asked to resume after %q, want %q", last, tt.wantLast)
			}
			// The stream closes after the terminal event: "5" is never sent.
			if diff := cmp.Diff(framesOf(evs[:3]...), frames, cmp.AllowUnexported(frame{})); diff != "" {
				t.Errorf("frames (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSSELive(t *testing.T) {
	t.Parallel()
	st := httpapitest.NewStream(0)
	svc := &httpapitest.Service{SubscribeJobFunc: func(context.Context, string, string, string) (httpapi.Stream, error) { return st, nil }}
	_, ts := start(t, svc, httpapi.Config{Keepalive: 1})
	r := openSSE(t, ts, "/v1/jobs/j1/events")
	if r.res.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("Cache-Control = %q", r.res.Header.Get("Cache-Control"))
	}
	for { // idle: keepalive comments arrive
		f, err := r.next()
		if err != nil {
			t.Fatal(err)
		}
		if f.comment == "keepalive" {
			break
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), guard)
	defer cancel()
	for _, e := range []api.Event{ev("1", api.EventQueued), ev("2", api.EventFailed)} {
		if err := st.Send(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	want := framesOf(ev("1", api.EventQueued), ev("2", api.EventFailed))
	if diff := cmp.Diff(want, r.events(), cmp.AllowUnexported(frame{})); diff != "" {
		t.Errorf("frames (-want +got):\n%s", diff)
	}
	waitClosed(t, st)
}

func waitClosed(tb testing.TB, st *httpapitest.Stream) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), guard)
	defer cancel()
	select {
	case <-st.Closed():
	case <-ctx.Done():
		tb.Fatal("the handler never closed the stream")
	}
}

func TestSSEEnds(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		path string
		end  func(*httpapi.Server, *httpapitest.Stream, *sseReader)
	}{
		{"client disconnects", "/v1/jobs/j1/events", func(_ *httpapi.Server, _ *httpapitest.Stream, r *sseReader) { r.stop() }},
		{"server drains", "/v1/jobs/j1/events", func(s *httpapi.Server, _ *httpapitest.Stream, _ *sseReader) { s.Drain() }},
		{"stream fails", "/v1/jobs/j1/events", func(_ *httpapi.Server, st *httpapitest.Stream, _ *sseReader) { st.End(errors.New("hub closed")) }},
		{"owner stream ends", "/v1/events", func(_ *httpapi.Server, st *httpapitest.Stream, _ *sseReader) { st.End(nil) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			st := httpapitest.NewStream(1)
			svc := &httpapitest.Service{
				SubscribeJobFunc:   func(context.Context, string, string, string) (httpapi.Stream, error) { return st, nil },
				SubscribeOwnerFunc: func(context.Context, string) (httpapi.Stream, error) { return st, nil },
			}
			s, ts := start(t, svc, httpapi.Config{})
			r := openSSE(t, ts, tt.path)
			tt.end(s, st, r)
			waitClosed(t, st)
			if r.res.Request.Context().Err() == nil {
				r.events() // the server side ended: the body ends too
			}
		})
	}
}

func TestOwnerSSEOutlivesTerminalEvents(t *testing.T) {
	t.Parallel()
	var gotOwner string
	evs := []api.Event{ev("1", api.EventSucceeded), ev("1", api.EventQueued)}
	svc := &httpapitest.Service{SubscribeOwnerFunc: func(_ context.Context, owner string) (httpapi.Stream, error) {
		gotOwner = owner
		return httpapitest.StreamOf(evs...), nil
	}}
	_, ts := start(t, svc, httpapi.Config{APIKeys: []httpapi.APIKey{{ID: "alice", Hash: httpapi.HashKey("k")}}})
	frames := openSSE(t, ts, "/v1/events", "Authorization", "Bearer k").events()
	if diff := cmp.Diff(framesOf(evs...), frames, cmp.AllowUnexported(frame{})); diff != "" || gotOwner != "alice" {
		t.Errorf("owner %q; frames (-want +got):\n%s", gotOwner, diff)
	}
}
