package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"

	"github.com/comfygate/comfygate/api"
	"github.com/comfygate/comfygate/client"
	"github.com/comfygate/comfygate/internal/gateway"
	"github.com/comfygate/comfygate/internal/httpapi"
	"github.com/comfygate/comfygate/internal/httpapi/httpapitest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const guard = 10 * time.Second

func testCtx(tb testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), guard)
	tb.Cleanup(cancel)
	return ctx
}

func newClient(tb testing.TB, ts *httptest.Server, opts ...client.Option) *client.Client {
	tb.Helper()
	c, err := client.New(ts.URL, append([]client.Option{client.WithHTTPClient(ts.Client())}, opts...)...)
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

func serveMemory(tb testing.TB, cfg httpapi.Config) (*memory, *httptest.Server) {
	m := newMemory()
	ts, stop := m.serve(cfg)
	tb.Cleanup(stop)
	return m, ts
}

func TestNewRejectsBadURLs(t *testing.T) {
	t.Parallel()
	for _, u := range []string{"", "localhost:8080", "ftp://h", "http://", "http://a b"} {
		if _, err := client.New(u); err == nil {
			t.Errorf("New(%q) accepted it", u)
		}
	}
}

func TestCalls(t *testing.T) {
	t.Parallel()
	_, ts := serveMemory(t, httpapi.Config{})
	c := newClient(t, ts)
	ctx := testCtx(t)
	job, err := c.SubmitJob(ctx, api.SubmitJobRequest{Workflow: "txt2img"})
	if err != nil || job.State != api.StateQueued {
		t.Fatalf("SubmitJob = %+v, %v", job, err)
	}
	got, err := c.GetJob(ctx, job.ID)
	if err != nil || got.State != api.StateSucceeded {
		t.Errorf("GetJob = %+v, %v", got, err)
	}
	if _, err := c.CancelJob(ctx, job.ID); err != nil {
		t.Errorf("CancelJob: %v", err)
	}
	if err := c.DeleteJob(ctx, job.ID); err != nil {
		t.Errorf("DeleteJob: %v", err)
	}
	if _, err := c.GetJob(ctx, job.ID); !client.IsNotFound(err) {
		t.Errorf("GetJob after DeleteJob = %v, want a 404", err)
	}
	var e *client.Error
	if err := c.DeleteJob(ctx, "running"); !errors.As(err, &e) || e.StatusCode != http.StatusConflict || e.Code != "job_not_finished" {
		t.Errorf("DeleteJob(running) = %v, want 409 job_not_finished", err)
	}
	if _, err := c.GetJob(ctx, "nope"); !client.IsNotFound(err) {
		t.Errorf("GetJob(nope) = %v, want a 404", err)
	}
	if bs, err := c.Backends(ctx); err != nil || len(bs) != 1 || bs[0].ID != "gpu0" {
		t.Errorf("Backends = %+v, %v", bs, err)
	}
	if _, _, err := c.PutWorkflow(ctx, "w1", []byte(`{"graph":{}}`)); err != nil {
		t.Fatal(err)
	}
	if _, created, err := c.PutWorkflow(ctx, "w1", []byte(`{"graph":{}}`)); err != nil || created {
		t.Errorf("second PutWorkflow: created %v, %v", created, err)
	}
	if wfs, err := c.ListWorkflows(ctx); err != nil || len(wfs) != 1 || wfs[0].Name != "w1" {
		t.Errorf("ListWorkflows = %+v, %v", wfs, err)
	}
}

// TestLinkArtifact: the lifetime asked for reaches the server as
// ?expires=, none when zero (the server's default), and the answer is
// decoded; an unknown id is a 404.
func TestLinkArtifact(t *testing.T) {
	t.Parallel()
	m, ts := serveMemory(t, httpapi.Config{})
	m.files["a1"] = []byte("png")
	c := newClient(t, ts)
	ctx := testCtx(t)
	for _, tc := range []struct {
		expires time.Duration
		want    string
	}{{time.Hour, "1h0m0s"}, {0, "0s"}} {
		l, err := c.LinkArtifact(ctx, "a1", tc.expires)
		if err != nil || l.URL != "https://bucket.example/a1?for="+tc.want || !l.ExpiresAt.Equal(epoch.Add(tc.expires)) {
			t.Errorf("LinkArtifact(%v) = %+v, %v", tc.expires, l, err)
		}
	}
	if _, err := c.LinkArtifact(ctx, "nope", 0); !client.IsNotFound(err) {
		t.Errorf("LinkArtifact(nope) = %v, want a 404", err)
	}
}

func TestErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		handler http.HandlerFunc
		want    client.Error
	}{
		{"api error", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Retry-After", "3")
			w.WriteHeader(503)
			json.NewEncoder(w).Encode(api.ErrorResponse{Error: api.ErrorBody{Code: "overloaded", Message: "queue full", RequestID: "r1"}})
		}, client.Error{StatusCode: 503, Code: "overloaded", Message: "queue full", RequestID: "r1", RetryAfter: 3 * time.Second}},
		{"proxy page", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("X-Request-Id", "r2")
			http.Error(w, "bad gateway", http.StatusBadGateway)
		}, client.Error{StatusCode: 502, Code: "http_502", Message: "bad gateway", RequestID: "r2"}},
		{"empty body", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(500) },
			client.Error{StatusCode: 500, Code: "http_500", Message: "Internal Server Error"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ts := httptest.NewServer(tt.handler)
			defer ts.Close()
			_, err := newClient(t, ts).GetJob(testCtx(t), "x")
			var got *client.Error
			if !errors.As(err, &got) {
				t.Fatalf("err = %v, want *client.Error", err)
			}
			if diff := cmp.Diff(tt.want, *got); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
		})
	}
}

func TestAPIKey(t *testing.T) {
	t.Parallel()
	_, ts := serveMemory(t, httpapi.Config{APIKeys: []httpapi.APIKey{{ID: "me", Hash: httpapi.HashKey("s3cret")}}})
	ctx := testCtx(t)
	if _, err := newClient(t, ts, client.WithAPIKey("s3cret")).Backends(ctx); err != nil {
		t.Errorf("with the key: %v", err)
	}
	var e *client.Error
	if _, err := newClient(t, ts, client.WithAPIKey("wrong")).Backends(ctx); !errors.As(err, &e) || e.Code != api.CodeUnauthorized {
		t.Errorf("with a wrong key: %v", err)
	}
}

func TestBaseURLPrefix(t *testing.T) {
	t.Parallel()
	var path string
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		path = r.URL.EscapedPath()
		w.Write([]byte(`{"id":"x"}`))
	}))
	defer ts.Close()
	c, err := client.New(ts.URL+"/comfygate/", client.WithHTTPClient(ts.Client()))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetJob(testCtx(t), "a/b c"); err != nil {
		t.Fatal(err)
	}
	if path != "/comfygate/v1/jobs/a%2Fb%20c" {
		t.Errorf("path = %q", path)
	}
}

// flakyEvents serves a job's events over several connections, each ending
// (without a terminal event) after the events of its segment, and records
// the Last-Event-ID each connection asked for.
type flakyEvents struct {
	mu       sync.Mutex
	segments [][]api.Event
	asked    []string
}

func (f *flakyEvents) subscribe(_ context.Context, _, id, last string) (httpapi.Stream, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.asked = append(f.asked, last)
	if len(f.segments) == 0 {
		return nil, fmt.Errorf("job %s: %w", id, gateway.ErrNotFound)
	}
	seg := f.segments[0]
	f.segments = f.segments[1:]
	return httpapitest.StreamOf(seg...), nil
}

func evt(id, typ string) api.Event {
	return api.Event{ID: id, JobID: "j1", Type: typ, Time: epoch, Data: json.RawMessage(`{}`)}
}

func TestEventsResume(t *testing.T) {
	t.Parallel()
	f := &flakyEvents{segments: [][]api.Event{
		{evt("1", api.EventQueued), evt("2", api.EventStarted)},
		{evt("2.1", api.EventProgress)},
		{evt("3", api.EventSucceeded)},
	}}
	s, err := httpapi.New(&httpapitest.Service{SubscribeJobFunc: f.subscribe}, httpapi.Config{})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s)
	defer ts.Close()
	ctx := testCtx(t)
	st, err := newClient(t, ts).Events(ctx, "j1", client.After("0"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var ids []string
	for {
		ev, err := st.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, ev.ID)
	}
	if diff := cmp.Diff([]string{"1", "2", "2.1", "3"}, ids); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if diff := cmp.Diff([]string{"0", "2", "2.1"}, f.asked); diff != "" {
		t.Errorf("Last-Event-ID per connection (-want +got):\n%s", diff)
	}
}

func TestEventsRefusedOnResume(t *testing.T) {
	t.Parallel()
	f := &flakyEvents{segments: [][]api.Event{{evt("1", api.EventQueued)}}}
	s, _ := httpapi.New(&httpapitest.Service{SubscribeJobFunc: f.subscribe}, httpapi.Config{})
	ts := httptest.NewServer(s)
	defer ts.Close()
	ctx := testCtx(t)
	st, err := newClient(t, ts).Events(ctx, "j1")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if ev, err := st.Next(ctx); err != nil || ev.ID != "1" {
		t.Fatalf("first = %+v, %v", ev, err)
	}
	if _, err := st.Next(ctx); !client.IsNotFound(err) {
		t.Errorf("resume refused: err = %v, want the server's 404", err)
	}
}

func TestEventsContextEndsNextOnly(t *testing.T) {
	t.Parallel()
	live := httpapitest.NewStream(1)
	var calls []string
	var mu sync.Mutex
	svc := &httpapitest.Service{SubscribeJobFunc: func(_ context.Context, _, _, last string) (httpapi.Stream, error) {
		mu.Lock()
		defer mu.Unlock()
		calls = append(calls, last)
		if len(calls) == 1 {
			return live, nil
		}
		return httpapitest.StreamOf(evt("2", api.EventSucceeded)), nil
	}}
	s, _ := httpapi.New(svc, httpapi.Config{})
	ts := httptest.NewServer(s)
	defer ts.Close()
	ctx := testCtx(t)
	st, err := newClient(t, ts).Events(ctx, "j1")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := live.Send(ctx, evt("1", api.EventQueued)); err != nil {
		t.Fatal(err)
	}
	if ev, err := st.Next(ctx); err != nil || ev.ID != "1" {
		t.Fatalf("first = %+v, %v", ev, err)
	}
	short, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := st.Next(short); !errors.Is(err, context.Canceled) {
		t.Fatalf("Next with an ended ctx = %v", err)
	}
	if ev, err := st.Next(ctx); err != nil || ev.ID != "2" {
		t.Fatalf("after resuming = %+v, %v", ev, err)
	}
	mu.Lock()
	defer mu.Unlock()
	if diff := cmp.Diff([]string{"", "1"}, calls); diff != "" {
		t.Errorf("subscriptions (-want +got):\n%s", diff)
	}
}

func TestEventsUnknownJob(t *testing.T) {
	t.Parallel()
	_, ts := serveMemory(t, httpapi.Config{})
	if _, err := newClient(t, ts).Events(testCtx(t), "nope"); !client.IsNotFound(err) {
		t.Errorf("err = %v, want a 404", err)
	}
}
