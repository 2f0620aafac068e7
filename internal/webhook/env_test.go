package webhook

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"go.uber.org/goleak"

	"github.com/comfygate/comfygate/internal/job"
	"github.com/comfygate/comfygate/internal/safefetch"
	"github.com/comfygate/comfygate/internal/store/sqlite"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// Secrets of the tests, written as users write them.
const (
	testSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	oldSecret  = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD"
)

// env is a worker over a real SQLite store, with a fake clock.
type env struct {
	t     *testing.T
	store *sqlite.Store
	clock *fakeClock
	w     *Worker
	logs  *syncBuffer
}

func newEnv(t *testing.T, mod func(*Config)) *env {
	t.Helper()
	clock := newFakeClock()
	// The store keeps the same time, so events are due when they happen.
	st, err := sqlite.Open(t.Context(), sqlite.Config{Path: filepath.Join(t.TempDir(), "db"), Synchronous: "NORMAL",
		Now: clock.Now, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	// The policy stays on: it admits loopback, where the test receivers
	// listen, and nothing else.
	f, err := safefetch.New(safefetch.Config{AllowLoopback: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.CloseIdleConnections)
	e := &env{t: t, store: st, clock: clock, logs: &syncBuffer{}}
	cfg := Config{Store: st, Client: f.NoRedirects(), CheckURL: f.CheckURL, Render: renderTest,
		Secrets: []Secret{mustSecret(t, testSecret)}, Owner: "replica-1", Clock: e.clock,
		Rand: func() float64 { return 0.5 }, Logger: slog.New(slog.NewTextHandler(e.logs, nil))}
	if mod != nil {
		mod(&cfg)
	}
	if e.w, err = New(cfg); err != nil {
		t.Fatal(err)
	}
	if err := e.w.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := e.w.Stop(context.Background()); err != nil {
			t.Errorf("Stop: %v", err)
		}
	})
	return e
}

// renderTest shows the job's id and state, as the REST view would.
func renderTest(_ context.Context, m *job.WebhookMessage) (json.RawMessage, error) {
	return json.Marshal(map[string]any{"id": m.Job.ID, "state": m.Job.State, "progress": m.Job.Progress})
}

func mustSecret(tb testing.TB, s string) Secret {
	tb.Helper()
	sec, err := ParseSecret(s)
	if err != nil {
		tb.Fatal(err)
	}
	return sec
}

// endJob stores a job with a webhook to url and ends it in state to,
// through the store as the fleet does; webhook events as given.
func (e *env) endJob(url string, to job.State, events ...string) *job.Job {
	e.t.Helper()
	ctx := context.Background()
	j, _, err := e.store.CreateJob(ctx, &job.Job{Owner: "alice", Webhook: url, WebhookEvents: events, MaxAttempts: 1})
	if err != nil {
		e.t.Fatal(err)
	}
	move := func(st job.State, ev string) {
		if _, _, err := e.store.UpdateJobWithEvent(ctx, j.ID, func(j *job.Job) (*job.Event, error) {
			j.Backend = "sim-1"
			return job.NewEvent(ev, nil), j.TransitionTo(st, time.Now())
		}); err != nil {
			e.t.Fatal(err)
		}
	}
	if to != job.StateCancelled {
		move(job.StateDispatched, job.EventDispatched)
		move(job.StateRunning, job.EventStarted)
	}
	move(to, job.EndEvent(to))
	return j
}

// attempts waits until jobID's delivery log has n attempts and returns it.
func (e *env) attempts(jobID string, n int) []job.DeliveryAttempt {
	e.t.Helper()
	var got []job.DeliveryAttempt
	waitFor(e.t, func() bool {
		got, _ = e.store.ListDeliveryAttempts(context.Background(), jobID)
		return len(got) >= n
	}, "%d attempts of job %s", n, jobID)
	return got
}

// advance moves the clock and makes the worker look at once.
func (e *env) advance(d time.Duration) {
	e.clock.Advance(d)
	e.w.Kick()
}

func waitFor(tb testing.TB, cond func() bool, format string, args ...any) {
	tb.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out waiting for "+format, args...)
		}
		time.Sleep(2 * time.Millisecond) // polling a condition, not synchronising on time
	}
}

// delivery is one request a receiver got, checked with the Standard
// Webhooks reference library.
type delivery struct {
	ID, Timestamp, Signature string
	Body                     payloadIn
	VerifyErr                error
}

type payloadIn struct {
	Type      string          `json:"type"`
	Timestamp time.Time       `json:"timestamp"`
	Data      json.RawMessage `json:"data"`
}

// receiver is a webhook endpoint on 127.0.0.1 that verifies every request
// with a library written by someone else, and answers as told.
type receiver struct {
	*httptest.Server
	verifier *standardwebhooks.Webhook
	mu       sync.Mutex // guards the fields below
	got      []delivery
	answer   func(n int, d delivery) int // status for the n-th (0-based) request
}

func newReceiver(t *testing.T, secret string, answer func(n int, d delivery) int) *receiver {
	t.Helper()
	v, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		t.Fatal(err)
	}
	r := &receiver{verifier: v, answer: answer}
	r.Server = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	d := delivery{ID: req.Header.Get("webhook-id"), Timestamp: req.Header.Get("webhook-timestamp"),
		Signature: req.Header.Get("webhook-signature")}
	// The fake clock may be hours ahead, so the timestamp's freshness is
	// not checked here; the e2e tests, on the wall clock, check it.
	d.VerifyErr = r.verifier.VerifyIgnoringTimestamp(body, req.Header)
	_ = json.Unmarshal(body, &d.Body)
	r.mu.Lock()
	n := len(r.got)
	r.got = append(r.got, d)
	r.mu.Unlock()
	w.WriteHeader(r.answer(n, d))
}

func (r *receiver) deliveries() []delivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]delivery(nil), r.got...)
}

// statuses answers the n-th request with codes[n], then with the last.
func statuses(codes ...int) func(int, delivery) int {
	return func(n int, _ delivery) int { return codes[min(n, len(codes)-1)] }
}

// syncBuffer is a log sink safe for concurrent writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf []byte
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	return len(p), nil
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}
