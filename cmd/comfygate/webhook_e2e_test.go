package main

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/comfygate/comfygate/api"
	"github.com/comfygate/comfygate/comfy/comfysim"
	"github.com/comfygate/comfygate/internal/job"
	"github.com/comfygate/comfygate/internal/store/sqlite"
)

const e2eSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

// hookRequest is one POST a receiver got, verified by the Standard
// Webhooks reference library (timestamp tolerance included).
type hookRequest struct {
	ID, Type, JobID string
	State           api.JobState
	Status          int // what the receiver answered
	VerifyErr       error
}

// hookReceiver is a webhook endpoint on 127.0.0.1 that refuses (500)
// until accept is set.
type hookReceiver struct {
	*httptest.Server
	accept atomic.Bool
	mu     sync.Mutex // guards got
	got    []hookRequest
}

func newHookReceiver(t *testing.T) *hookReceiver {
	t.Helper()
	v, err := standardwebhooks.NewWebhook(e2eSecret)
	if err != nil {
		t.Fatal(err)
	}
	h := &hookReceiver{}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var msg api.WebhookMessage
		_ = json.Unmarshal(body, &msg)
		req := hookRequest{ID: r.Header.Get("webhook-id"), Type: msg.Type, JobID: msg.Data.ID, State: msg.Data.State,
			Status: http.StatusInternalServerError, VerifyErr: v.Verify(body, r.Header)}
		if h.accept.Load() {
			req.Status = http.StatusNoContent
		}
		h.mu.Lock()
		h.got = append(h.got, req)
		h.mu.Unlock()
		w.WriteHeader(req.Status)
	}))
	t.Cleanup(h.Close)
	return h
}

func (h *hookReceiver) requests(jobID string) []hookRequest {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []hookRequest
	for _, r := range h.got {
		if r.JobID == jobID {
			out = append(out, r)
		}
	}
	return out
}

func (c *apiClient) deliveries(id string) api.DeliveryList {
	c.tb.Helper()
	var d api.DeliveryList
	c.must(http.StatusOK, "GET", "/v1/jobs/"+id+"/deliveries", nil).decode(c.tb, &d)
	return d
}

// TestWebhookSurvivesKill9 is the acceptance test of the durable outbox:
// a job succeeds while its receiver refuses the webhook; the gateway is
// killed with SIGKILL in the middle of the retries and started again; the
// message, with the same webhook-id, is delivered after the restart. The
// delivery log lists every attempt of both lives, and a redelivery sends
// the same webhook-id once more.
func TestWebhookSurvivesKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	sim := comfysim.Start(t, comfysim.Options{})
	rcv := newHookReceiver(t)
	dir := t.TempDir()
	// Loopback only: the receiver runs here, and no other private address
	// is opened.
	args := []string{"serve", "--listen", "127.0.0.1:0", "--data", dir, "--backend", sim.URL(), "--allow-loopback-urls",
		"--webhook-secret", e2eSecret, "--webhook-retry-base", "100ms"}
	first := startProcess(t, args...)
	c := newAPIClient(t, first.URL)
	c.waitReady()
	c.must(http.StatusCreated, "PUT", "/v1/workflows/t2i", txt2imgGraph(t))
	j := c.submit(api.SubmitJobRequest{Workflow: "t2i", Params: map[string]any{"steps": 2, "width": 64, "height": 64},
		Webhook: &api.WebhookSpec{URL: rcv.URL + "/hook?token=abc"}})
	// Two refusals recorded, then the crash (a third attempt may be in
	// flight: the receiver gets it, the log cannot).
	if !poll(func() bool { d := c.deliveries(j.ID).Deliveries; return len(d) == 1 && len(d[0].Attempts) >= 2 }) {
		t.Fatalf("the receiver got %d requests, want 2 refused ones recorded", len(rcv.requests(j.ID)))
	}
	first.kill()
	recorded := len(storedAttempts(t, dir, j.ID))
	refused := len(rcv.requests(j.ID))
	rcv.accept.Store(true)

	second := startProcess(t, args...)
	c2 := newAPIClient(t, second.URL)
	if !poll(func() bool { r := rcv.requests(j.ID); return r[len(r)-1].Status == http.StatusNoContent }) {
		t.Fatalf("no delivery after the restart: %+v", rcv.requests(j.ID))
	}
	// The receiver answered; the gateway records that right after.
	if !poll(func() bool { d := c2.deliveries(j.ID).Deliveries; return len(d) == 1 && d[0].State == "delivered" }) {
		t.Fatalf("the delivery was never recorded: %+v", c2.deliveries(j.ID))
	}
	got := rcv.requests(j.ID)
	for i, r := range got {
		if r.VerifyErr != nil || r.ID != got[0].ID || r.Type != api.WebhookSucceeded || r.State != api.StateSucceeded {
			t.Errorf("request %d: %+v; want job.succeeded of a succeeded job, verified, webhook-id %s", i, r, got[0].ID)
		}
	}
	d := c2.deliveries(j.ID)
	if len(d.Deliveries) != 1 {
		t.Fatalf("deliveries %+v, want one message", d)
	}
	m := d.Deliveries[0]
	if want := recorded + len(got) - refused; m.ID != got[0].ID || m.State != "delivered" || len(m.Attempts) != want || m.URL != rcv.URL+"/hook" {
		t.Errorf("delivery %+v: want %s delivered with %d attempts (%d recorded before the kill, then every one after), URL without its query",
			m, got[0].ID, want, recorded)
	}
	for i, a := range m.Attempts {
		want := http.StatusInternalServerError
		if i == len(m.Attempts)-1 {
			want = http.StatusNoContent
		}
		if a.N != i+1 || a.StatusCode != want {
			t.Errorf("attempt %d: %+v, want status %d", i+1, a, want)
		}
	}

	out := mustCLI(t, "jobs", "deliveries", j.ID, "--server", second.URL).stdout
	if !strings.Contains(out, m.ID) || !strings.Contains(out, "delivered") || strings.Count(out, "#") != len(m.Attempts) {
		t.Errorf("comfygate jobs deliveries:\n%s\nwant the message, delivered, with %d attempts", out, len(m.Attempts))
	}
	var again api.DeliveryList
	if err := json.Unmarshal([]byte(mustCLI(t, "jobs", "redeliver", j.ID, "--json", "--server", second.URL).stdout), &again); err != nil ||
		len(again.Deliveries) != 1 || again.Deliveries[0].ID != m.ID {
		t.Errorf("comfygate jobs redeliver --json: %+v, %v; want the message", again, err)
	}
	if !poll(func() bool { return len(rcv.requests(j.ID)) == len(got)+1 }) {
		t.Fatalf("no redelivery: %d requests", len(rcv.requests(j.ID)))
	}
	if r := rcv.requests(j.ID); r[len(r)-1].ID != got[0].ID || r[len(r)-1].VerifyErr != nil {
		t.Errorf("redelivered %+v, want the same webhook-id %s, verified", r[len(r)-1], got[0].ID)
	}
	if t.Failed() {
		t.Logf("second gateway's log:\n%s", second.stderr)
	}
}

// TestFailedJobWebhook: a job that fails on the backend tells its webhook
// job.failed, and another key cannot read its deliveries.
func TestFailedJobWebhook(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	sim := comfysim.Start(t, comfysim.Options{})
	rcv := newHookReceiver(t)
	rcv.accept.Store(true)
	p := startProcess(t, "serve", "--listen", "127.0.0.1:0", "--data", t.TempDir(), "--backend", sim.URL(),
		"--allow-loopback-urls", "--webhook-secret", e2eSecret, "--max-attempts", "1",
		"--api-key", "alice:alice-key-0123456789", "--api-key", "bob:bob-key-0123456789")
	c := newAPIClient(t, p.URL)
	alice := []string{"Authorization", "Bearer alice-key-0123456789"}
	c.waitReady()
	c.must(http.StatusCreated, "PUT", "/v1/workflows/t2i", txt2imgGraph(t), alice...)
	sim.SetFailNode("KSampler")
	j := c.submit(api.SubmitJobRequest{Workflow: "t2i", Params: map[string]any{"steps": 2, "width": 64, "height": 64},
		Webhook: &api.WebhookSpec{URL: rcv.URL}}, alice...)
	if !poll(func() bool { return len(rcv.requests(j.ID)) == 1 }) {
		t.Fatalf("no webhook for the failed job")
	}
	if r := rcv.requests(j.ID)[0]; r.Type != api.WebhookFailed || r.State != api.StateFailed || r.VerifyErr != nil {
		t.Errorf("got %+v, want a verified job.failed", r)
	}
	c.must(http.StatusOK, "GET", "/v1/jobs/"+j.ID+"/deliveries", nil, alice...)
	c.must(http.StatusNotFound, "GET", "/v1/jobs/"+j.ID+"/deliveries", nil, "Authorization", "Bearer bob-key-0123456789")
	c.must(http.StatusNotFound, "POST", "/v1/jobs/"+j.ID+"/deliveries/redeliver", nil, "Authorization", "Bearer bob-key-0123456789")
}

// storedAttempts reads the delivery log from the data directory of a
// gateway that is not running.
func storedAttempts(t *testing.T, dir, jobID string) []job.DeliveryAttempt {
	t.Helper()
	st, err := sqlite.Open(t.Context(), sqlite.Config{Path: filepath.Join(dir, "comfygate.db"), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	atts, err := st.ListDeliveryAttempts(t.Context(), jobID)
	if err != nil {
		t.Fatal(err)
	}
	return atts
}
