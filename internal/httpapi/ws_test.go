package httpapi_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"
	"github.com/google/go-cmp/cmp"

	"github.com/comfygate/comfygate/api"
	"github.com/comfygate/comfygate/internal/httpapi"
	"github.com/comfygate/comfygate/internal/httpapi/httpapitest"
)

func dialWS(tb testing.TB, ts *httptest.Server, path string) (*websocket.Conn, context.Context) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), guard)
	tb.Cleanup(cancel)
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(ts.URL, "http")+path, nil)
	if err != nil {
		tb.Fatalf("dial %s: %v", path, err)
	}
	tb.Cleanup(func() { c.CloseNow() })
	return c, ctx
}

// readAll reads events until the server closes, and returns the close code.
func readAll(tb testing.TB, ctx context.Context, c *websocket.Conn) ([]api.Event, websocket.StatusCode) {
	tb.Helper()
	var out []api.Event
	for {
		var e api.Event
		err := wsjson.Read(ctx, c, &e)
		if err != nil {
			var ce websocket.CloseError
			if !errors.As(err, &ce) {
				tb.Fatalf("read: %v", err)
			}
			return out, ce.Code
		}
		out = append(out, e)
	}
}

func TestWebSocketJobStream(t *testing.T) {
	t.Parallel()
	evs := []api.Event{ev("3", api.EventStarted), ev("3.1", api.EventProgress), ev("4", api.EventCancelled), ev("5", api.EventQueued)}
	got := make(chan string, 1)
	_, ts := start(t, recordingSubscribe(got, evs...), httpapi.Config{})
	c, ctx := dialWS(t, ts, "/v1/jobs/j1/ws?last_event_id=2")
	events, code := readAll(t, ctx, c)
	if last := <-got; last != "2" {
		t.Errorf("resumed after %q, want 2", last)
	}
	if diff := cmp.Diff(evs[:3], events); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
	if code != websocket.StatusNormalClosure {
		t.Errorf("close code = %v, want normal closure after the terminal event", code)
	}
}

func TestWebSocketEnds(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		path     string
		end      func(*httpapi.Server, *httpapitest.Stream)
		wantCode websocket.StatusCode
	}{
		{"drain", "/v1/events/ws", func(s *httpapi.Server, _ *httpapitest.Stream) { s.Drain() }, websocket.StatusGoingAway},
		{"stream fails", "/v1/jobs/j1/ws", func(_ *httpapi.Server, st *httpapitest.Stream) { st.End(errors.New("boom")) }, websocket.StatusInternalError},
		{"owner stream ends", "/v1/events/ws", func(_ *httpapi.Server, st *httpapitest.Stream) { st.End(nil) }, websocket.StatusNormalClosure},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			st := httpapitest.NewStream(1)
			svc := &httpapitest.Service{
				SubscribeJobFunc:   func(context.Context, string, string, string) (httpapi.Stream, error) { return st, nil },
				SubscribeOwnerFunc: func(context.Context, string) (httpapi.Stream, error) { return st, nil },
			}
			s, ts := start(t, svc, httpapi.Config{Keepalive: 1e6})
			c, ctx := dialWS(t, ts, tt.path)
			if err := st.Send(ctx, ev("1", api.EventQueued)); err != nil {
				t.Fatal(err)
			}
			var first api.Event
			if err := wsjson.Read(ctx, c, &first); err != nil || first.ID != "1" {
				t.Fatalf("first event %+v, %v", first, err)
			}
			tt.end(s, st)
			if _, code := readAll(t, ctx, c); code != tt.wantCode {
				t.Errorf("close code = %v, want %v", code, tt.wantCode)
			}
			waitClosed(t, st)
		})
	}
}

func TestWebSocketClientLeaves(t *testing.T) {
	t.Parallel()
	st := httpapitest.NewStream(0)
	svc := &httpapitest.Service{SubscribeJobFunc: func(context.Context, string, string, string) (httpapi.Stream, error) { return st, nil }}
	_, ts := start(t, svc, httpapi.Config{})
	c, _ := dialWS(t, ts, "/v1/jobs/j1/ws")
	c.Close(websocket.StatusNormalClosure, "bye")
	waitClosed(t, st)
}
