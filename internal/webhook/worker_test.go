package webhook

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/comfygate/comfygate/internal/job"
)

func TestSucceededArrivesAfterTwoRefusals(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	rcv := newReceiver(t, testSecret, statuses(500, 503, 204))
	j := e.endJob(rcv.URL+"/hook?token=s3cret", job.StateSucceeded)
	e.attempts(j.ID, 1)
	e.advance(5 * time.Second) // RetryBase, jitter 0
	e.attempts(j.ID, 2)
	e.advance(10 * time.Second)
	atts := e.attempts(j.ID, 3)

	got := rcv.deliveries()
	if len(got) != 3 {
		t.Fatalf("receiver got %d requests, want 3", len(got))
	}
	for i, d := range got {
		if d.VerifyErr != nil {
			t.Errorf("request %d: signature does not verify: %v", i, d.VerifyErr)
		}
		if d.ID != got[0].ID || !strings.HasPrefix(d.ID, "msg_") {
			t.Errorf("request %d: webhook-id %q, want %q on every attempt", i, d.ID, got[0].ID)
		}
		if d.Body.Type != job.WebhookSucceeded || !strings.Contains(string(d.Body.Data), j.ID) {
			t.Errorf("request %d: body %+v, want job.succeeded with the job", i, d.Body)
		}
	}
	if want := strconv.FormatInt(e.clock.Now().Unix(), 10); got[2].Timestamp != want {
		t.Errorf("webhook-timestamp %s, want the attempt's time %s", got[2].Timestamp, want)
	}
	for i, want := range []int{500, 503, 204} {
		if atts[i].StatusCode != want || atts[i].N != i+1 {
			t.Errorf("attempt %d: %+v, want status %d", i+1, atts[i], want)
		}
	}
	if atts[1].NextAttemptAt.Sub(atts[1].At) < 10*time.Second || !atts[2].NextAttemptAt.IsZero() {
		t.Errorf("next attempts %v then %v: want the doubled backoff, then none", atts[1].NextAttemptAt, atts[2].NextAttemptAt)
	}
	ms, _ := e.store.ListWebhookMessages(context.Background(), j.ID)
	if ms[0].State != job.DeliveryDelivered {
		t.Errorf("message state %s, want delivered", ms[0].State)
	}
	waitFor(t, func() bool { return counter(e.w.metrics.attempts.WithLabelValues("delivered")) == 1 }, "the delivered count")
	if got := counter(e.w.metrics.attempts.WithLabelValues("retrying")); got != 2 {
		t.Errorf("comfygate_webhook_attempts_total{result=retrying} = %v, want 2", got)
	}
	var h dto.Metric
	if err := e.w.metrics.latency.Write(&h); err != nil || h.GetHistogram().GetSampleCount() != 1 {
		t.Errorf("delivery latency histogram: %d samples (%v), want 1", h.GetHistogram().GetSampleCount(), err)
	}
	if logs := e.logs.String(); strings.Contains(logs, "s3cret") || strings.Contains(logs, testSecret) {
		t.Errorf("the log shows a secret:\n%s", logs)
	}
}

func TestFailedAndCancelledArrive(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	rcv := newReceiver(t, testSecret, statuses(200))
	failed := e.endJob(rcv.URL, job.StateFailed)
	cancelled := e.endJob(rcv.URL, job.StateCancelled)
	e.attempts(failed.ID, 1)
	e.attempts(cancelled.ID, 1)
	types := map[string]bool{}
	for _, d := range rcv.deliveries() {
		types[d.Body.Type] = d.VerifyErr == nil
	}
	if !types[job.WebhookFailed] || !types[job.WebhookCancelled] {
		t.Errorf("verified types %v, want job.failed and job.cancelled", types)
	}
}

func TestWhenDeliveryStops(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		answer  int
		url     string // "" for the receiver
		wantErr string
	}{
		{"410 gone", http.StatusGone, "", ""},
		{"refused address", 0, "http://10.1.2.3/hook", "private address"},
		{"metadata address", 0, "http://169.254.169.254/latest", "cloud metadata"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, nil)
			rcv := newReceiver(t, testSecret, statuses(tt.answer))
			url := tt.url
			if url == "" {
				url = rcv.URL
			}
			j := e.endJob(url, job.StateSucceeded)
			atts := e.attempts(j.ID, 1)
			if !strings.Contains(atts[0].Error, tt.wantErr) || !atts[0].NextAttemptAt.IsZero() {
				t.Errorf("attempt %+v, want no next attempt and an error saying %q", atts[0], tt.wantErr)
			}
			e.advance(time.Hour)
			e.w.Kick()
			ms, _ := e.store.ListWebhookMessages(context.Background(), j.ID)
			if ms[0].State != job.DeliveryFailed || ms[0].Attempts != 1 {
				t.Errorf("message %s after %d attempts, want failed after 1", ms[0].State, ms[0].Attempts)
			}
		})
	}
}

func TestGivesUpWhenTheRetryWindowCloses(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) { c.RetryBase, c.RetryFor = 10*time.Second, 35*time.Second })
	rcv := newReceiver(t, testSecret, statuses(500))
	j := e.endJob(rcv.URL, job.StateSucceeded)
	e.attempts(j.ID, 1)
	e.advance(10 * time.Second)
	e.attempts(j.ID, 2)
	e.advance(20 * time.Second)
	atts := e.attempts(j.ID, 3) // the next would be 40s later, past 35s
	if !atts[2].NextAttemptAt.IsZero() {
		t.Errorf("third attempt schedules another at %v, want the message given up", atts[2].NextAttemptAt)
	}
	ms, _ := e.store.ListWebhookMessages(context.Background(), j.ID)
	if ms[0].State != job.DeliveryFailed {
		t.Errorf("state %s, want failed", ms[0].State)
	}
	if n := len(rcv.deliveries()); n != 3 {
		t.Errorf("%d requests, want 3", n)
	}
}

func TestRetriesTimeoutsAndRedirects(t *testing.T) {
	t.Parallel()
	target := newReceiver(t, testSecret, statuses(204))
	tests := []struct {
		name    string
		handler http.HandlerFunc
		wantErr string
		want    int
		timeout time.Duration // 0: the default, far more than a loopback answer takes
	}{
		{"timeout", func(w http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, r.Body) // then the server notices the client leave
			<-r.Context().Done()
		}, "no answer within 50ms", 0, 50 * time.Millisecond},
		{"redirect not followed", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, target.URL, http.StatusTemporaryRedirect)
		}, "", http.StatusTemporaryRedirect, 0},
		{"client error", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusBadRequest) }, "", 400, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, func(c *Config) { c.Timeout = tt.timeout })
			rcv := newReceiver(t, testSecret, statuses(0))
			rcv.Config.Handler = tt.handler
			j := e.endJob(rcv.URL, job.StateSucceeded)
			a := e.attempts(j.ID, 1)[0]
			if a.StatusCode != tt.want || a.Error != tt.wantErr || a.NextAttemptAt.IsZero() {
				t.Errorf("attempt %+v, want status %d, error %q and a retry", a, tt.want, tt.wantErr)
			}
		})
	}
	if n := len(target.deliveries()); n != 0 {
		t.Errorf("the redirect's target got %d requests", n)
	}
}

func TestJobsMessagesGoInOrder(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	rcv := newReceiver(t, testSecret, statuses(500, 204))
	j := e.endJob(rcv.URL, job.StateSucceeded, job.WebhookStarted, job.WebhookSucceeded)
	e.attempts(j.ID, 1)
	e.w.Kick() // nothing is due but the refused job.started's retry
	e.advance(5 * time.Second)
	e.attempts(j.ID, 3)
	var types []string
	for _, d := range rcv.deliveries() {
		types = append(types, d.Body.Type)
	}
	if got, want := strings.Join(types, " "), "job.started job.started job.succeeded"; got != want {
		t.Errorf("receiver got %s, want %s", got, want)
	}
}

func TestOneSlowHostDoesNotStarveOthers(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	var inSlow, maxSlow atomic.Int32
	slow := newReceiver(t, testSecret, statuses(204))
	slow.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := inSlow.Add(1)
		for m := maxSlow.Load(); n > m && !maxSlow.CompareAndSwap(m, n); m = maxSlow.Load() {
		}
		<-release
		inSlow.Add(-1)
	})
	fast := newReceiver(t, testSecret, statuses(204))
	e := newEnv(t, func(c *Config) { c.Concurrency, c.PerHost = 4, 2 })
	defer close(release)
	for range 5 {
		e.endJob(strings.Replace(slow.URL, "127.0.0.1", "localhost", 1), job.StateSucceeded)
	}
	var fastJobs []*job.Job
	for range 6 {
		fastJobs = append(fastJobs, e.endJob(fast.URL, job.StateSucceeded))
	}
	for _, j := range fastJobs {
		e.attempts(j.ID, 1)
	}
	if m := maxSlow.Load(); m > 2 {
		t.Errorf("%d attempts at once on the slow host, want at most PerHost (2)", m)
	}
}

func TestRotationSignsWithBothSecrets(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) { c.Secrets = []Secret{mustSecret(t, testSecret), mustSecret(t, oldSecret)} })
	current := newReceiver(t, testSecret, statuses(204))
	old := newReceiver(t, oldSecret, statuses(204))
	a, b := e.endJob(current.URL, job.StateSucceeded), e.endJob(old.URL, job.StateSucceeded)
	e.attempts(a.ID, 1)
	e.attempts(b.ID, 1)
	for name, r := range map[string]*receiver{"current": current, "old": old} {
		d := r.deliveries()[0]
		if d.VerifyErr != nil || len(strings.Fields(d.Signature)) != 2 {
			t.Errorf("receiver with the %s secret: verify %v, signature %q; want two v1 signatures, one its own", name, d.VerifyErr, d.Signature)
		}
	}
}

// countingDoer counts the answer bytes the worker reads.
type countingDoer struct {
	next Doer
	read atomic.Int64
}

func (c *countingDoer) Do(r *http.Request) (*http.Response, error) {
	resp, err := c.next.Do(r)
	if err == nil {
		resp.Body = &countingBody{ReadCloser: resp.Body, n: &c.read}
	}
	return resp, err
}

type countingBody struct {
	io.ReadCloser
	n *atomic.Int64
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n.Add(int64(n))
	return n, err
}

func (b *countingBody) Close() error { return b.ReadCloser.Close() }

func TestReadsAtMostALittleOfTheAnswer(t *testing.T) {
	t.Parallel()
	var doer *countingDoer
	e := newEnv(t, func(c *Config) { doer = &countingDoer{next: c.Client}; c.Client = doer })
	rcv := newReceiver(t, testSecret, statuses(200))
	rcv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write(make([]byte, 1<<20))
	})
	j := e.endJob(rcv.URL, job.StateSucceeded)
	e.attempts(j.ID, 1)
	if n := doer.read.Load(); n > 4<<10 {
		t.Errorf("read %d bytes of the answer, want at most 4 KiB", n)
	}
}

func TestStopLetsTheAttemptInFlightFinish(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	arrived, release := make(chan struct{}), make(chan struct{})
	rcv := newReceiver(t, testSecret, statuses(204))
	var once sync.Once
	rcv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		once.Do(func() { close(arrived) })
		<-release
	})
	j := e.endJob(rcv.URL, job.StateSucceeded)
	<-arrived
	stopped := make(chan error)
	go func() { stopped <- e.w.Stop(context.Background()) }()
	close(release)
	if err := <-stopped; err != nil {
		t.Fatal(err)
	}
	atts, _ := e.store.ListDeliveryAttempts(context.Background(), j.ID)
	if len(atts) != 1 || atts[0].StatusCode != 200 {
		t.Errorf("attempts after Stop: %+v, want the one in flight, recorded", atts)
	}
}

func TestBodyIsStandardWebhooks(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	rcv := newReceiver(t, testSecret, statuses(204))
	j := e.endJob(rcv.URL, job.StateSucceeded)
	e.attempts(j.ID, 1)
	d := rcv.deliveries()[0]
	ms, _ := e.store.ListWebhookMessages(context.Background(), j.ID)
	var data map[string]any
	if err := json.Unmarshal(d.Body.Data, &data); err != nil || data["id"] != j.ID || data["state"] != "succeeded" {
		t.Errorf("data %s, want the rendered job", d.Body.Data)
	}
	if !d.Body.Timestamp.Equal(ms[0].CreatedAt) || d.ID != ms[0].ID {
		t.Errorf("timestamp %v id %s, want the event's time %v and the message id %s", d.Body.Timestamp, d.ID, ms[0].CreatedAt, ms[0].ID)
	}
}

// counter reads a counter's value.
func counter(c prometheus.Counter) float64 {
	var m dto.Metric
	_ = c.Write(&m)
	return m.GetCounter().GetValue()
}
