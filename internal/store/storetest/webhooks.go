package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/comfygate/comfygate/internal/job"
)

// webhookTests cover the outbox (job.WebhookStore): the rule that a
// wanted event and its message share one commit, claims, attempts,
// redelivery and the shared secret.
var webhookTests = map[string]func(*testing.T, NewStore){
	"QueuedWithTerminalEvent": webhookQueuedWithEnd,
	"WhichEventsQueue":        webhookWhichEvents,
	"EveryAppendPath":         webhookEveryPath,
	"AbortedUpdateQueuesNone": webhookAbortQueuesNone,
	"ClaimInOrderPerJob":      webhookClaimOrder,
	"ClaimLeaseAndDue":        webhookClaimLease,
	"ClaimSkipsHosts":         webhookClaimSkipHosts,
	"ConcurrentClaims":        webhookConcurrentClaims,
	"RecordAttempts":          webhookRecordAttempts,
	"LostLease":               webhookLostLease,
	"Release":                 webhookRelease,
	"Redeliver":               webhookRedeliver,
	"NextDue":                 webhookNextDue,
	"Secret":                  webhookSecret,
}

const hookURL = "https://Hooks.Example.com/in?token=t"

func outbox(t *testing.T, ns NewStore) (job.Store, job.WebhookStore) {
	t.Helper()
	s := ns(t)
	ws, ok := s.(job.WebhookStore)
	if !ok {
		t.Fatal("the store does not implement job.WebhookStore")
	}
	return s, ws
}

func withHook(events ...string) func(*job.Job) {
	return func(j *job.Job) {
		j.Webhook, j.WebhookEvents, j.Owner = hookURL, events, "owner-1"
		j.ExtraData = json.RawMessage(`{"api_key_comfy_org":"secret"}`)
	}
}

// end moves a job to state with its terminal event, as the fleet does.
func end(tb testing.TB, s job.Store, id string, to job.State) (*job.Job, *job.Event) {
	tb.Helper()
	j, e, err := s.UpdateJobWithEvent(context.Background(), id, func(j *job.Job) (*job.Event, error) {
		if err := j.TransitionTo(to, time.Now()); err != nil {
			return nil, err
		}
		return job.NewEvent(job.EndEvent(to), nil), nil
	})
	if err != nil {
		tb.Fatalf("end job %s as %s: %v", id, to, err)
	}
	return j, e
}

func messages(tb testing.TB, ws job.WebhookStore, jobID string) []*job.WebhookMessage {
	tb.Helper()
	ms, err := ws.ListWebhookMessages(context.Background(), jobID)
	if err != nil {
		tb.Fatalf("ListWebhookMessages(%s): %v", jobID, err)
	}
	return ms
}

func webhookQueuedWithEnd(t *testing.T, ns NewStore) {
	s, ws := outbox(t, ns)
	j := create(t, s, newJob(withHook()))
	drain(ws.WebhookQueued())
	setState(t, s, j.ID, job.StateRunning)
	ended, e := end(t, s, j.ID, job.StateSucceeded)
	select {
	case <-ws.WebhookQueued():
	default:
		t.Error("WebhookQueued did not fire after the commit that queued a message")
	}
	ms := messages(t, ws, j.ID)
	if len(ms) != 1 {
		t.Fatalf("%d messages, want 1", len(ms))
	}
	m := ms[0]
	if len(m.ID) != 36 || m.ID[:4] != "msg_" {
		t.Errorf("message id %q, want msg_ and 32 hex digits", m.ID)
	}
	want := job.WebhookMessage{ID: m.ID, Seq: m.Seq, JobID: j.ID, Owner: "owner-1", EventSeq: e.Seq,
		Type: job.WebhookSucceeded, URL: hookURL, Host: "hooks.example.com", State: job.DeliveryPending,
		CreatedAt: e.Time, RetryFrom: e.Time, NextAttemptAt: e.Time}
	got := *m
	got.Job = nil
	diff(t, "message", want, got)
	if m.Job == nil || m.Job.State != job.StateSucceeded || m.Job.ID != j.ID || !m.Job.FinishedAt.Equal(ended.FinishedAt) {
		t.Errorf("snapshot %+v, want the job as it ended", m.Job)
	}
	if m.Job != nil && (m.Job.Graph != nil || m.Job.ExtraData != nil) {
		t.Errorf("snapshot keeps graph %s or extra_data %s", m.Job.Graph, m.Job.ExtraData)
	}
}

func drain(c <-chan struct{}) {
	select {
	case <-c:
	default:
	}
}

func webhookWhichEvents(t *testing.T, ns NewStore) {
	tests := []struct {
		name   string
		mod    func(*job.Job)
		to     job.State
		events []string // message types queued, in order
	}{
		{"no webhook", func(*job.Job) {}, job.StateSucceeded, nil},
		{"default succeeded", withHook(), job.StateSucceeded, []string{job.WebhookSucceeded}},
		{"default failed", withHook(), job.StateFailed, []string{job.WebhookFailed}},
		{"default cancelled", withHook(), job.StateCancelled, []string{job.WebhookCancelled}},
		{"started opted in", withHook(job.WebhookStarted, job.WebhookSucceeded), job.StateSucceeded,
			[]string{job.WebhookStarted, job.WebhookSucceeded}},
		{"only failures", withHook(job.WebhookFailed), job.StateSucceeded, nil},
	}
	s, ws := outbox(t, ns)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j := create(t, s, newJob(tt.mod))
			if tt.to == job.StateSucceeded {
				setState(t, s, j.ID, job.StateDispatched)
				if _, _, err := s.UpdateJobWithEvent(t.Context(), j.ID, func(j *job.Job) (*job.Event, error) {
					return job.NewEvent(job.EventStarted, job.DispatchedData{Backend: "a", Attempt: 1}), j.TransitionTo(job.StateRunning, time.Now())
				}); err != nil {
					t.Fatal(err)
				}
			}
			end(t, s, j.ID, tt.to)
			var got []string
			for _, m := range messages(t, ws, j.ID) {
				got = append(got, m.Type)
			}
			diff(t, "message types", tt.events, got)
		})
	}
}

func webhookEveryPath(t *testing.T, ns NewStore) {
	s, ws := outbox(t, ns)
	a := create(t, s, newJob(withHook()))
	if _, err := s.AppendEvent(t.Context(), a.ID, job.Event{Type: job.EventCancelled}); err != nil {
		t.Fatal(err)
	}
	b := create(t, s, newJob(withHook()))
	if _, _, err := s.UpdateJobWithEvents(t.Context(), b.ID, func(j *job.Job) ([]job.Event, error) {
		return []job.Event{{Type: job.EventOutput}, {Type: job.EventFailed}}, j.TransitionTo(job.StateFailed, time.Now())
	}); err != nil {
		t.Fatal(err)
	}
	c, _, _, err := s.CreateJobWithEvent(t.Context(), newJob(withHook(job.WebhookStarted)), &job.Event{Type: job.EventStarted})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		id, typ string
		seq     int64
	}{{a.ID, job.WebhookCancelled, 1}, {b.ID, job.WebhookFailed, 2}, {c.ID, job.WebhookStarted, 1}} {
		ms := messages(t, ws, tc.id)
		if len(ms) != 1 || ms[0].Type != tc.typ || ms[0].EventSeq != tc.seq {
			t.Errorf("job %s: messages %+v, want one %s for event %d", tc.id, ms, tc.typ, tc.seq)
		}
	}
}

func webhookAbortQueuesNone(t *testing.T, ns NewStore) {
	s, ws := outbox(t, ns)
	j := create(t, s, newJob(withHook()))
	_, _, err := s.UpdateJobWithEvent(t.Context(), j.ID, func(j *job.Job) (*job.Event, error) {
		_ = j.TransitionTo(job.StateCancelled, time.Now())
		return job.NewEvent(job.EventCancelled, nil), errors.New("changed my mind")
	})
	if err == nil {
		t.Fatal("update with a failing fn succeeded")
	}
	_, _, err = s.UpdateJobWithEvents(t.Context(), j.ID, func(j *job.Job) ([]job.Event, error) {
		return []job.Event{{Type: job.EventCancelled}, {Type: "bad", Data: json.RawMessage(`{`)}}, j.TransitionTo(job.StateCancelled, time.Now())
	})
	wantErr(t, "update with an invalid event", err, job.ErrInvalid)
	if ms := messages(t, ws, j.ID); len(ms) != 0 {
		t.Errorf("%d messages after aborted updates, want none", len(ms))
	}
}

func claimMsgs(tb testing.TB, ws job.WebhookStore, owner string, now time.Time, limit int, skip ...string) []*job.WebhookMessage {
	tb.Helper()
	ms, err := ws.ClaimWebhooks(context.Background(), job.WebhookClaim{Owner: owner, Now: now,
		LeaseUntil: now.Add(time.Minute), Limit: limit, SkipHosts: skip})
	if err != nil {
		tb.Fatalf("ClaimWebhooks: %v", err)
	}
	return ms
}

func msgIDs(ms []*job.WebhookMessage) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.Type+" "+m.JobID)
	}
	return out
}

// startedAndEnded makes a job whose webhook has a job.started and a
// job.succeeded message pending.
func startedAndEnded(tb testing.TB, s job.Store, mods ...func(*job.Job)) *job.Job {
	tb.Helper()
	j := create(tb, s, newJob(append([]func(*job.Job){withHook(job.WebhookStarted, job.WebhookSucceeded)}, mods...)...))
	setState(tb, s, j.ID, job.StateDispatched)
	if _, _, err := s.UpdateJobWithEvent(context.Background(), j.ID, func(j *job.Job) (*job.Event, error) {
		return job.NewEvent(job.EventStarted, nil), j.TransitionTo(job.StateRunning, time.Now())
	}); err != nil {
		tb.Fatal(err)
	}
	end(tb, s, j.ID, job.StateSucceeded)
	return j
}

func webhookClaimOrder(t *testing.T, ns NewStore) {
	s, ws := outbox(t, ns)
	a, b := startedAndEnded(t, s), startedAndEnded(t, s)
	now := time.Now().Add(time.Second)
	got := claimMsgs(t, ws, "r1", now, 10)
	diff(t, "first claim: each job's first message", []string{"job.started " + a.ID, "job.started " + b.ID}, msgIDs(got))
	if got[0].LeaseOwner != "r1" || !got[0].LeaseUntil.Equal(norm(now.Add(time.Minute))) {
		t.Errorf("lease %q until %v", got[0].LeaseOwner, got[0].LeaseUntil)
	}
	record(t, ws, "r1", got[0], job.DeliveryDelivered, time.Time{})
	record(t, ws, "r1", got[1], job.DeliveryFailed, time.Time{})
	diff(t, "second claim: the next messages", []string{"job.succeeded " + a.ID, "job.succeeded " + b.ID},
		msgIDs(claimMsgs(t, ws, "r1", now, 10)))
}

func norm(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

func record(tb testing.TB, ws job.WebhookStore, owner string, m *job.WebhookMessage, state string, next time.Time) {
	tb.Helper()
	a := job.DeliveryAttempt{MessageID: m.ID, At: time.Now(), Duration: 1500 * time.Microsecond, StatusCode: 500, NextAttemptAt: next}
	if state == job.DeliveryDelivered {
		a.StatusCode = 204
	}
	if err := ws.RecordWebhookAttempt(context.Background(), owner, a, state); err != nil {
		tb.Fatalf("RecordWebhookAttempt(%s, %s): %v", m.ID, state, err)
	}
}

func webhookClaimLease(t *testing.T, ns NewStore) {
	s, ws := outbox(t, ns)
	j := create(t, s, newJob(withHook()))
	_, e := end(t, s, j.ID, job.StateCancelled)
	if got := claimMsgs(t, ws, "r1", e.Time.Add(-time.Second), 5); len(got) != 0 {
		t.Errorf("claimed %v before it was due", msgIDs(got))
	}
	now := e.Time.Add(time.Second)
	if got := claimMsgs(t, ws, "r1", now, 5); len(got) != 1 {
		t.Fatalf("claimed %d, want 1", len(got))
	}
	if got := claimMsgs(t, ws, "r2", now, 5); len(got) != 0 {
		t.Errorf("r2 claimed %v under r1's lease", msgIDs(got))
	}
	got := claimMsgs(t, ws, "r2", now.Add(time.Minute), 5)
	if len(got) != 1 || got[0].LeaseOwner != "r2" {
		t.Errorf("after the lease lapsed r2 claimed %v, want the message", msgIDs(got))
	}
}

func webhookClaimSkipHosts(t *testing.T, ns NewStore) {
	s, ws := outbox(t, ns)
	a := create(t, s, newJob(withHook()))
	b := create(t, s, newJob(withHook(), func(j *job.Job) { j.Webhook = "http://other.test:9/x" }))
	end(t, s, a.ID, job.StateCancelled)
	end(t, s, b.ID, job.StateCancelled)
	got := claimMsgs(t, ws, "r1", time.Now().Add(time.Second), 5, "hooks.example.com")
	diff(t, "claimed past a busy host", []string{"job.cancelled " + b.ID}, msgIDs(got))
}

func webhookConcurrentClaims(t *testing.T, ns NewStore) {
	s, ws := outbox(t, ns)
	const n = 20
	for range n {
		j := create(t, s, newJob(withHook()))
		end(t, s, j.ID, job.StateCancelled)
	}
	now := time.Now().Add(time.Second)
	var (
		mu   sync.Mutex
		seen = map[string]int{}
		wg   sync.WaitGroup
	)
	for r := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 10 {
				ms, err := ws.ClaimWebhooks(context.Background(), job.WebhookClaim{Owner: name("r", r), Now: now,
					LeaseUntil: now.Add(time.Minute), Limit: 3})
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				for _, m := range ms {
					seen[m.ID]++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(seen) != n {
		t.Errorf("%d messages claimed, want %d", len(seen), n)
	}
	for id, c := range seen {
		if c != 1 {
			t.Errorf("message %s claimed %d times", id, c)
		}
	}
}

func webhookRecordAttempts(t *testing.T, ns NewStore) {
	s, ws := outbox(t, ns)
	j := create(t, s, newJob(withHook()))
	end(t, s, j.ID, job.StateCancelled)
	now := time.Now().Add(time.Second)
	m := claimMsgs(t, ws, "r1", now, 1)[0]
	next := now.Add(time.Hour)
	record(t, ws, "r1", m, job.DeliveryPending, next)
	if got := claimMsgs(t, ws, "r1", now.Add(time.Minute), 1); len(got) != 0 {
		t.Errorf("claimed before its next attempt: %v", msgIDs(got))
	}
	m = claimMsgs(t, ws, "r1", next, 1)[0]
	record(t, ws, "r1", m, job.DeliveryDelivered, time.Time{})
	ms := messages(t, ws, j.ID)
	if ms[0].State != job.DeliveryDelivered || ms[0].Attempts != 2 || ms[0].EndedAt.IsZero() || !ms[0].NextAttemptAt.IsZero() || ms[0].LeaseOwner != "" {
		t.Errorf("message after delivery: %+v", ms[0])
	}
	atts, err := ws.ListDeliveryAttempts(t.Context(), j.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(atts) != 2 || atts[0].N != 1 || atts[1].N != 2 || atts[0].StatusCode != 500 || atts[1].StatusCode != 204 ||
		!atts[0].NextAttemptAt.Equal(norm(next)) || !atts[1].NextAttemptAt.IsZero() || atts[0].Duration != 1500*time.Microsecond ||
		atts[0].JobID != j.ID || atts[0].MessageID != m.ID {
		t.Errorf("attempts %+v", atts)
	}
	if got := claimMsgs(t, ws, "r1", next.Add(time.Hour), 1); len(got) != 0 {
		t.Errorf("a delivered message was claimed again: %v", msgIDs(got))
	}
	err = ws.RecordWebhookAttempt(t.Context(), "r1", job.DeliveryAttempt{MessageID: "msg_nope"}, job.DeliveryFailed)
	wantErr(t, "RecordWebhookAttempt(unknown)", err, job.ErrNotFound)
	err = ws.RecordWebhookAttempt(t.Context(), "r1", job.DeliveryAttempt{MessageID: m.ID}, "lost")
	wantErr(t, "RecordWebhookAttempt(bad state)", err, job.ErrInvalid)
}

func webhookLostLease(t *testing.T, ns NewStore) {
	s, ws := outbox(t, ns)
	j := create(t, s, newJob(withHook()))
	end(t, s, j.ID, job.StateCancelled)
	now := time.Now().Add(time.Second)
	m := claimMsgs(t, ws, "r1", now, 1)[0]
	claimMsgs(t, ws, "r2", now.Add(2*time.Minute), 1) // r1's lease lapsed
	err := ws.RecordWebhookAttempt(t.Context(), "r1", job.DeliveryAttempt{MessageID: m.ID, StatusCode: 204}, job.DeliveryDelivered)
	wantErr(t, "RecordWebhookAttempt(lost lease)", err, job.ErrConflict)
	ms := messages(t, ws, j.ID)
	if ms[0].State != job.DeliveryPending || ms[0].LeaseOwner != "r2" || ms[0].Attempts != 1 {
		t.Errorf("message %+v: want pending, leased by r2, one attempt counted", ms[0])
	}
	record(t, ws, "r2", m, job.DeliveryDelivered, time.Time{})
	if atts, _ := ws.ListDeliveryAttempts(t.Context(), j.ID); len(atts) != 2 {
		t.Errorf("%d attempts logged, want both", len(atts))
	}
}

func webhookRedeliver(t *testing.T, ns NewStore) {
	s, ws := outbox(t, ns)
	j := startedAndEnded(t, s)
	now := time.Now().Add(time.Second)
	for range 2 {
		record(t, ws, "r1", claimMsgs(t, ws, "r1", now, 1)[0], job.DeliveryDelivered, time.Time{})
	}
	ms := messages(t, ws, j.ID)
	later := now.Add(time.Hour)
	got, err := ws.RedeliverWebhooks(t.Context(), j.ID, "", later)
	if err != nil || len(got) != 1 || got[0].ID != ms[1].ID || got[0].State != job.DeliveryPending ||
		!got[0].NextAttemptAt.Equal(norm(later)) || !got[0].RetryFrom.Equal(norm(later)) || !got[0].EndedAt.IsZero() {
		t.Fatalf("RedeliverWebhooks(latest) = %+v, %v", got, err)
	}
	if got, err = ws.RedeliverWebhooks(t.Context(), j.ID, ms[0].ID, later); err != nil || len(got) != 1 || got[0].ID != ms[0].ID {
		t.Errorf("RedeliverWebhooks(first) = %+v, %v", got, err)
	}
	diff(t, "claim after redelivery: in order, same ids", []string{"job.started " + j.ID}, msgIDs(claimMsgs(t, ws, "r1", later, 5)))
	_, err = ws.RedeliverWebhooks(t.Context(), j.ID, "msg_nope", later)
	wantErr(t, "RedeliverWebhooks(unknown message)", err, job.ErrNotFound)
	_, err = ws.RedeliverWebhooks(t.Context(), "no-such-job", "", later)
	wantErr(t, "RedeliverWebhooks(unknown job)", err, job.ErrNotFound)
}

func webhookNextDue(t *testing.T, ns NewStore) {
	s, ws := outbox(t, ns)
	if _, ok, err := ws.NextWebhookDue(t.Context()); ok || err != nil {
		t.Fatalf("NextWebhookDue on an empty outbox: ok %v, err %v", ok, err)
	}
	j := create(t, s, newJob(withHook()))
	_, e := end(t, s, j.ID, job.StateCancelled)
	due, ok, err := ws.NextWebhookDue(t.Context())
	if !ok || err != nil || !due.Equal(e.Time) {
		t.Errorf("NextWebhookDue = %v, %v, %v; want the event's time %v", due, ok, err, e.Time)
	}
	now := e.Time.Add(time.Second)
	claimMsgs(t, ws, "r1", now, 1) // leased for a minute
	if due, _, _ := ws.NextWebhookDue(t.Context()); !due.Equal(norm(now.Add(time.Minute))) {
		t.Errorf("NextWebhookDue while leased = %v, want the lease's end", due)
	}
}

func webhookSecret(t *testing.T, ns NewStore) {
	_, ws := outbox(t, ns)
	calls := 0
	gen := func() (string, error) { calls++; return name("whsec_first", calls), nil }
	first, err := ws.WebhookSecret(t.Context(), gen)
	if err != nil || first != "whsec_first-1" {
		t.Fatalf("WebhookSecret = %q, %v", first, err)
	}
	again, err := ws.WebhookSecret(t.Context(), gen)
	if err != nil || again != first || calls != 1 {
		t.Errorf("second WebhookSecret = %q, %v after %d generations; want the stored one", again, err, calls)
	}
	if _, err := ws.WebhookSecret(t.Context(), func() (string, error) { return "", errors.New("no entropy") }); err != nil {
		t.Errorf("a stored secret needs no generation, got %v", err)
	}
}

func webhookRelease(t *testing.T, ns NewStore) {
	s, ws := outbox(t, ns)
	a, b := create(t, s, newJob(withHook())), create(t, s, newJob(withHook()))
	end(t, s, a.ID, job.StateCancelled)
	end(t, s, b.ID, job.StateCancelled)
	now := time.Now().Add(time.Second)
	claimMsgs(t, ws, "r1", now, 1)
	claimMsgs(t, ws, "r2", now, 1)
	n, err := ws.ReleaseWebhooks(t.Context(), "r1")
	if err != nil || n != 1 {
		t.Fatalf("ReleaseWebhooks(r1) = %d, %v; want 1", n, err)
	}
	got := claimMsgs(t, ws, "r1", now, 5)
	diff(t, "claimable after release: r1's, not r2's", []string{"job.cancelled " + a.ID}, msgIDs(got))
}
