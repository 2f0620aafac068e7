package webhook

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/comfygate/comfygate/internal/events"
	"github.com/comfygate/comfygate/internal/job"
)

// running stores a running job with a webhook to url.
func (e *env) running(url string, events ...string) *job.Job {
	e.t.Helper()
	j, _, err := e.store.CreateJob(context.Background(), &job.Job{Owner: "alice", Webhook: url, WebhookEvents: events})
	if err != nil {
		e.t.Fatal(err)
	}
	return j
}

func progressEvent(j *job.Job, value float64) events.Event {
	data, _ := json.Marshal(job.Progress{Node: "3", Value: value, Max: 20, Fraction: value / 20})
	return events.Event{JobID: j.ID, Owner: j.Owner, Type: job.EventProgress, Data: data}
}

func TestProgressIsCoalescedAndOptIn(t *testing.T) {
	t.Parallel()
	hub := events.NewHub(events.Options{})
	t.Cleanup(hub.Close)
	var e *env
	e = newEnv(t, func(c *Config) { c.Hub, c.Jobs = hub, jobsOf{&e} })
	rcv := newReceiver(t, testSecret, statuses(204))
	wants := e.running(rcv.URL, job.WebhookProgress, job.WebhookSucceeded)
	silent := e.running(rcv.URL) // the default types: no progress
	hub.Publish(progressEvent(silent, 1))
	hub.Publish(progressEvent(wants, 1))
	waitFor(t, func() bool { return len(rcv.deliveries()) == 1 }, "the first job.progress")
	for v := 2.0; v <= 5; v++ {
		hub.Publish(progressEvent(wants, v))
	}
	e.clock.Advance(time.Second) // ProgressInterval: the latest of 2..5 goes
	waitFor(t, func() bool { return len(rcv.deliveries()) == 2 }, "the second job.progress")
	got := rcv.deliveries()
	var values []float64
	for _, d := range got {
		var v struct {
			ID       string       `json:"id"`
			Progress job.Progress `json:"progress"`
		}
		_ = json.Unmarshal(d.Body.Data, &v)
		if d.Body.Type != job.WebhookProgress || d.VerifyErr != nil || v.ID != wants.ID {
			t.Errorf("delivery %+v, want a verified job.progress of job %s", d, wants.ID)
		}
		values = append(values, v.Progress.Value)
	}
	if len(values) != 2 || values[0] != 1 || values[1] != 5 {
		t.Errorf("progress values sent %v, want [1 5]: the first, then only the latest", values)
	}
	if got[0].ID == got[1].ID {
		t.Error("two job.progress messages share a webhook-id")
	}
}

// jobsOf reads jobs from the env's store once it exists, with the
// progress rendered into the data.
type jobsOf struct{ e **env }

func (j jobsOf) GetJob(ctx context.Context, id string) (*job.Job, error) {
	return (*j.e).store.GetJob(ctx, id)
}

// TestProgressRelayedFromAnotherReplicaIsNotSent: with replicas linked,
// every hub gets a job's progress, but only the replica that published it
// (the one running the job) sends job.progress; otherwise each replica
// would send it again.
func TestProgressRelayedFromAnotherReplicaIsNotSent(t *testing.T) {
	t.Parallel()
	hub := events.NewHub(events.Options{})
	t.Cleanup(hub.Close)
	var e *env
	e = newEnv(t, func(c *Config) { c.Hub, c.Jobs = hub, jobsOf{&e} })
	rcv := newReceiver(t, testSecret, statuses(204))
	elsewhere := e.running(rcv.URL, job.WebhookProgress)
	here := e.running(rcv.URL, job.WebhookProgress)
	hub.Deliver(progressEvent(elsewhere, 1)) // as a Link does with another replica's event
	hub.Publish(progressEvent(here, 1))
	waitFor(t, func() bool { return len(rcv.deliveries()) >= 1 }, "the job.progress of the job run here")
	// The relayed event came first: had it been taken, its send has
	// started by now, and Stop waits for it.
	if err := e.w.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, d := range rcv.deliveries() {
		var v struct {
			ID string `json:"id"`
		}
		_ = json.Unmarshal(d.Body.Data, &v)
		if v.ID != here.ID {
			t.Errorf("job.progress sent for job %s, whose progress was relayed from another replica", v.ID)
		}
	}
}
