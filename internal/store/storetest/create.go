package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/comfygate/comfygate/internal/job"
)

var createTests = map[string]func(*testing.T, NewStore){
	"Defaults":               createDefaults,
	"RoundTripsEveryField":   createRoundTrip,
	"DoesNotModifyInput":     createKeepsInput,
	"SeqIncreases":           createSeqIncreases,
	"DuplicateID":            createDuplicateID,
	"Invalid":                createInvalid,
	"IdempotencyReplay":      createIdempotencyReplay,
	"IdempotencyMismatch":    createIdempotencyMismatch,
	"IdempotencyPerOwner":    createIdempotencyPerOwner,
	"IdempotencyConcurrent":  createIdempotencyConcurrent,
	"KeyWinsOverDuplicateID": createKeyWinsOverID,
}

var getTests = map[string]func(*testing.T, NewStore){
	"NotFound": func(t *testing.T, ns NewStore) {
		_, err := ns(t).GetJob(t.Context(), uuid.NewString())
		wantErr(t, "GetJob(unknown)", err, job.ErrNotFound)
		_, err = ns(t).JobOwner(t.Context(), uuid.NewString())
		wantErr(t, "JobOwner(unknown)", err, job.ErrNotFound)
		_, err = ns(t).JobUpdatedAt(t.Context(), uuid.NewString())
		wantErr(t, "JobUpdatedAt(unknown)", err, job.ErrNotFound)
	},
	"UpdatedAt": getUpdatedAt,
	"Owner": func(t *testing.T, ns NewStore) {
		s := ns(t)
		for _, owner := range []string{"key-1", ""} {
			j := newJob()
			j.Owner = owner
			created := create(t, s, j)
			if got, err := s.JobOwner(t.Context(), created.ID); err != nil || got != owner {
				t.Errorf("JobOwner = %q, %v; want %q", got, err, owner)
			}
		}
	},
}

// JobUpdatedAt tells a copy read earlier from a current one.
func getUpdatedAt(t *testing.T, ns NewStore) {
	s := ns(t)
	j := create(t, s, newJob())
	if at, err := s.JobUpdatedAt(t.Context(), j.ID); err != nil || !at.Equal(j.UpdatedAt) {
		t.Errorf("JobUpdatedAt = %v, %v; want the created job's %v", at, err, j.UpdatedAt)
	}
	updated, err := s.UpdateJob(t.Context(), j.ID, func(j *job.Job) error { j.Priority = 3; return nil })
	if err != nil {
		t.Fatal(err)
	}
	at, err := s.JobUpdatedAt(t.Context(), j.ID)
	if err != nil || !at.Equal(updated.UpdatedAt) || at.Equal(j.UpdatedAt) {
		t.Errorf("after an update: %v, %v; want the update's %v, not the creation's %v", at, err, updated.UpdatedAt, j.UpdatedAt)
	}
}

func createDefaults(t *testing.T, ns NewStore) {
	s := ns(t)
	before := time.Now().Add(-time.Second)
	got := create(t, s, newJob())
	if u, err := uuid.Parse(got.ID); err != nil || u.Version() != 4 {
		t.Errorf("ID %q is not a UUID v4 (%v)", got.ID, err)
	}
	if got.State != job.StateQueued || got.Seq <= 0 || got.EventSeq != 0 {
		t.Errorf("state %q seq %d event seq %d; want queued, > 0, 0", got.State, got.Seq, got.EventSeq)
	}
	if got.CreatedAt.Before(before) || !got.UpdatedAt.Equal(got.CreatedAt) || got.CreatedAt.Location() != time.UTC {
		t.Errorf("CreatedAt %v UpdatedAt %v: want now, equal, UTC", got.CreatedAt, got.UpdatedAt)
	}
	diff(t, "GetJob after CreateJob", got, get(t, s, got.ID))
}

// fullJob sets every field, with times in another zone and below microseconds.
func fullJob() *job.Job {
	zone := time.FixedZone("X", 3*3600)
	ts := func(n int) time.Time { return at(n).In(zone).Add(1234567 * time.Nanosecond) }
	return &job.Job{
		ID: uuid.NewString(), Owner: "key-1", Source: job.SourceComfy, Workflow: "wf",
		WorkflowVersion: "abcdef0123456789",
		Params:          json.RawMessage(`{"prompt": "a cat",  "seed": 18446744073709551615}`),
		Graph:           json.RawMessage(`{"3":{"class_type":"KSampler","inputs":{"cfg":7.50}}}`),
		OutputNodes:     []string{"9", "12"}, ExtraData: json.RawMessage(`{"extra_pnginfo":{}}`),
		ClientID: "client-1", Priority: -5, State: job.StateRunning, Attempts: 2, MaxAttempts: 4,
		AttemptLog: []job.Attempt{
			{Backend: "a", StartedAt: ts(1), EndedAt: ts(2), Outcome: "backend_lost", Error: "eof"},
			{Backend: "b", StartedAt: ts(3)},
		},
		Backend:  "b",
		Progress: job.Progress{Node: "3", NodeType: "KSampler", Value: 5, Max: 20, Fraction: 0.25, NodesDone: 2, NodesTotal: 7},
		Outputs: []job.Output{{ArtifactID: "ff00", NodeID: "9", Kind: "images", Filename: "a.png",
			Subfolder: "s", Type: "output", ContentType: "image/png", Size: 42, Text: "t"}},
		Error:          &job.Error{Type: "execution_error", Message: "m", NodeID: "3", NodeType: "KSampler", Traceback: []string{"l1", "l2"}},
		IdempotencyKey: "idem-1", RequestHash: "h1", CancelRequested: true, Webhook: "https://example.com/hook",
		WebhookEvents: []string{job.WebhookStarted, job.WebhookSucceeded},
		OutputOptions: job.OutputOptions{Format: job.FormatWebP, Quality: 80, Inline: true},
		Number:        17.5, CreatedAt: ts(0), DispatchedAt: ts(3), StartedAt: ts(4), FinishedAt: ts(5),
		LeaseOwner: "replica-1", LeaseUntil: ts(6),
		Comfy:        json.RawMessage(`{"number": "17.5"}`),
		ComfyHistory: json.RawMessage(`{"outputs": {}, "status": {"status_str": "success"}}`),
	}
}

// stored is in as a store keeps it: UTC, microseconds, store-owned fields set.
func stored(in *job.Job, seq int64) *job.Job {
	j := *in
	tr := func(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }
	j.Seq, j.EventSeq = seq, 0
	j.CreatedAt, j.DispatchedAt, j.StartedAt = tr(j.CreatedAt), tr(j.DispatchedAt), tr(j.StartedAt)
	j.FinishedAt, j.LeaseUntil = tr(j.FinishedAt), tr(j.LeaseUntil)
	j.UpdatedAt = j.CreatedAt
	j.AttemptLog = append([]job.Attempt(nil), in.AttemptLog...)
	for i := range j.AttemptLog {
		a := &j.AttemptLog[i]
		a.StartedAt = tr(a.StartedAt)
		if !a.EndedAt.IsZero() {
			a.EndedAt = tr(a.EndedAt)
		}
	}
	return &j
}

func createRoundTrip(t *testing.T, ns NewStore) {
	s := ns(t)
	in := fullJob()
	got := create(t, s, in)
	diff(t, "CreateJob result", stored(in, got.Seq), got)
	diff(t, "GetJob", got, get(t, s, in.ID))
	if string(got.Params) != string(in.Params) {
		t.Errorf("Params not kept byte for byte: %s", got.Params)
	}
}

func createKeepsInput(t *testing.T, ns NewStore) {
	in := fullJob()
	in.ID, in.State, in.CreatedAt = "", "", time.Time{}
	snapshot := *in
	snapshot.AttemptLog = append([]job.Attempt(nil), in.AttemptLog...)
	got := create(t, ns(t), in)
	diff(t, "input after CreateJob", &snapshot, in)
	got.Outputs[0].Filename = "changed"
	if in.Outputs[0].Filename == "changed" {
		t.Error("the returned job shares memory with the input")
	}
}

func createSeqIncreases(t *testing.T, ns NewStore) {
	jobs := createN(t, ns(t), 5)
	for i := 1; i < len(jobs); i++ {
		if jobs[i].Seq <= jobs[i-1].Seq {
			t.Errorf("Seq %d after %d: not increasing", jobs[i].Seq, jobs[i-1].Seq)
		}
	}
}

func createDuplicateID(t *testing.T, ns NewStore) {
	s := ns(t)
	first := create(t, s, newJob())
	_, _, err := s.CreateJob(t.Context(), newJob(func(j *job.Job) { j.ID = first.ID; j.Owner = "other" }))
	wantErr(t, "CreateJob(duplicate id)", err, job.ErrDuplicateID)
	diff(t, "first job after duplicate", first, get(t, s, first.ID))
}

func createInvalid(t *testing.T, ns NewStore) {
	s := ns(t)
	tests := map[string]func(*job.Job){
		"state":      func(j *job.Job) { j.State = "done" },
		"graph":      func(j *job.Job) { j.Graph = json.RawMessage(`{"1":`) },
		"params":     func(j *job.Job) { j.Params = json.RawMessage(`nope`) },
		"extra_data": func(j *job.Job) { j.ExtraData = json.RawMessage(`[`) },
	}
	for name, mod := range tests {
		t.Run(name, func(t *testing.T) {
			_, _, err := s.CreateJob(t.Context(), newJob(mod))
			wantErr(t, "CreateJob", err, job.ErrInvalid)
		})
	}
	if c, err := s.CountByState(t.Context()); err != nil || len(c) != 0 {
		t.Errorf("after invalid creates: counts %v, %v; want none", c, err)
	}
}

func idem(owner, key, hash string) func(*job.Job) {
	return func(j *job.Job) { j.Owner, j.IdempotencyKey, j.RequestHash = owner, key, hash }
}

func createIdempotencyReplay(t *testing.T, ns NewStore) {
	s := ns(t)
	first := create(t, s, newJob(idem("o", "k", "h")))
	again, replayed, err := s.CreateJob(t.Context(), newJob(idem("o", "k", "h"), func(j *job.Job) { j.Priority = 9 }))
	if err != nil || !replayed {
		t.Fatalf("replay: replayed %v, err %v", replayed, err)
	}
	diff(t, "replayed job", first, again)
	if c, _ := s.CountByState(t.Context()); c[job.StateQueued] != 1 {
		t.Errorf("jobs after replay = %v, want 1 queued", c)
	}
}

func createIdempotencyMismatch(t *testing.T, ns NewStore) {
	s := ns(t)
	first := create(t, s, newJob(idem("o", "k", "h1")))
	_, _, err := s.CreateJob(t.Context(), newJob(idem("o", "k", "h2")))
	var me *job.IdempotencyMismatchError
	if !errors.As(err, &me) || !errors.Is(err, job.ErrIdempotencyMismatch) {
		t.Fatalf("err = %v, want *IdempotencyMismatchError", err)
	}
	if me.Key != "k" || me.JobID != first.ID {
		t.Errorf("mismatch error = %+v, want key k and job %s", me, first.ID)
	}
}

func createIdempotencyPerOwner(t *testing.T, ns NewStore) {
	s := ns(t)
	a := create(t, s, newJob(idem("alice", "k", "h1")))
	b := create(t, s, newJob(idem("bob", "k", "h2")))
	c := create(t, s, newJob(idem("alice", "", "h1")))
	d := create(t, s, newJob(idem("alice", "", "h1"))) // no key: never a replay
	if a.ID == b.ID || c.ID == d.ID {
		t.Error("jobs of different owners or without keys were merged")
	}
}

func createIdempotencyConcurrent(t *testing.T, ns NewStore) {
	s := ns(t)
	const n = 8
	var (
		wg    sync.WaitGroup
		start = make(chan struct{})
		got   = make([]*job.Job, n)
		reps  = make([]bool, n)
		errs  = make([]error, n)
	)
	for i := range n {
		wg.Go(func() {
			<-start
			got[i], reps[i], errs[i] = s.CreateJob(context.Background(), newJob(idem("o", "k", "h")))
		})
	}
	close(start)
	wg.Wait()
	created := 0
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("create %d: %v", i, errs[i])
		}
		if !reps[i] {
			created++
		}
		if got[i].ID != got[0].ID {
			t.Errorf("create %d returned job %s, create 0 returned %s", i, got[i].ID, got[0].ID)
		}
	}
	if created != 1 {
		t.Errorf("%d creates stored a job, want exactly 1", created)
	}
}

func createKeyWinsOverID(t *testing.T, ns NewStore) {
	s := ns(t)
	first := create(t, s, newJob(idem("o", "k", "h")))
	// A client that retries with its own prompt id and the same key gets a replay.
	again, replayed, err := s.CreateJob(t.Context(), newJob(idem("o", "k", "h"), func(j *job.Job) { j.ID = first.ID }))
	if err != nil || !replayed || again.ID != first.ID {
		t.Errorf("retry with same id and key: %v, replayed %v, err %v", again, replayed, err)
	}
}
