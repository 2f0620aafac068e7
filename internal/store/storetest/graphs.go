package storetest

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/comfygate/comfygate/internal/job"
)

// graphTests cover a job's large, write-once parts (Graph, Params,
// ExtraData): an engine may keep them apart from the rest of the job, and
// every read that returns whole jobs must still return them byte for byte.
var graphTests = map[string]func(*testing.T, NewStore){
	"EveryReadReturnsThem": graphEveryRead,
	"FnSeesThem":           graphFnSees,
	"Replaced":             graphReplaced,
	"AddedAndCleared":      graphAddedAndCleared,
	"RejectedKeepsThem":    graphRejectedKeeps,
	"WebhookSnapshot":      graphWebhookSnapshot,
	"ReturnedBytesAreFree": graphReturnedBytesAreFree,
	"FailedUpdateNoTrace":  graphFailedUpdateNoTrace,
	"CreateThenUpdate":     graphCreateThenUpdate,
}

// largeGraph is a graph of about size bytes in ComfyUI's API format, with
// spacing and escapes a re-encoding would change.
func largeGraph(size int) json.RawMessage {
	var b strings.Builder
	b.WriteString(`{ "1": {"class_type":"KSampler", "inputs": {"seed": 18446744073709551615, "cfg": 7.50}}`)
	for i := 2; b.Len() < size; i++ {
		fmt.Fprintf(&b, `,"%d":{"class_type":"CLIPTextEncode","inputs":{"text":"prompt %d: caf\u00e9 \u2014 \"quoted\" €","clip":["4",1]}}`, i, i)
	}
	b.WriteString("}\n")
	return json.RawMessage(b.String())
}

// withLargeGraph gives a job a 96 KiB graph, params and extra_data.
func withLargeGraph(j *job.Job) {
	j.Graph = largeGraph(96 << 10)
	j.Params = json.RawMessage(`{"prompt": "a cat",  "seed": 1e3}`)
	j.ExtraData = json.RawMessage(`{"extra_pnginfo": {"workflow": {"nodes": []}}}`)
}

// sameGraph fails t unless got carries want's graph, params and extra_data.
func sameGraph(t testing.TB, what string, got, want *job.Job) {
	t.Helper()
	if string(got.Graph) != string(want.Graph) || string(got.Params) != string(want.Params) ||
		string(got.ExtraData) != string(want.ExtraData) {
		t.Errorf("%s: graph %d bytes, params %s, extra_data %s; want %d bytes, %s, %s", what,
			len(got.Graph), got.Params, got.ExtraData, len(want.Graph), want.Params, want.ExtraData)
	}
}

func graphEveryRead(t *testing.T, ns NewStore) {
	s := ns(t)
	ctx := t.Context()
	in := newJob(withLargeGraph, idem("owner-g", "key-g", "hash-g"))
	queued := create(t, s, in)
	sameGraph(t, "CreateJob", queued, in)
	running := create(t, s, newJob(withLargeGraph, func(j *job.Job) { j.Owner = "owner-g" }))
	claimed, err := s.UpdateJob(ctx, running.ID, claim("gpu-1"))
	if err != nil {
		t.Fatal(err)
	}
	sameGraph(t, "UpdateJob's result", claimed, in)
	progressed, _, err := s.UpdateJobWithEvent(ctx, running.ID, func(j *job.Job) (*job.Event, error) {
		j.Progress.NodesDone++
		return &job.Event{Type: "progress"}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sameGraph(t, "UpdateJobWithEvent's result", progressed, in)
	replay, replayed, err := s.CreateJob(ctx, in)
	if err != nil || !replayed {
		t.Fatalf("replay: replayed %v, %v", replayed, err)
	}
	sameGraph(t, "an idempotent replay", replay, in)
	for _, id := range []string{queued.ID, running.ID} {
		sameGraph(t, "GetJob", get(t, s, id), in)
	}
	page, _, err := s.ListJobs(ctx, job.JobFilter{Owner: "owner-g"})
	if err != nil || len(page) != 2 {
		t.Fatalf("ListJobs: %d jobs, %v", len(page), err)
	}
	for _, j := range page {
		sameGraph(t, "ListJobs", j, in)
	}
	order, err := s.DispatchOrder(ctx, 10)
	if err != nil || len(order) != 1 {
		t.Fatalf("DispatchOrder: %d jobs, %v", len(order), err)
	}
	sameGraph(t, "DispatchOrder", order[0], in)
	active, err := s.ActiveJobs(ctx)
	if err != nil || len(active) != 1 {
		t.Fatalf("ActiveJobs: %d jobs, %v", len(active), err)
	}
	sameGraph(t, "ActiveJobs", active[0], in)
	lean, _, err := s.ListJobs(ctx, job.JobFilter{Owner: "owner-g", Lean: true})
	if err != nil || len(lean) != 2 {
		t.Fatalf("lean ListJobs: %d jobs, %v", len(lean), err)
	}
	sameGraph(t, "a lean ListJobs (which leaves them out)", lean[0], &job.Job{})
}

func graphFnSees(t *testing.T, ns NewStore) {
	s := ns(t)
	in := newJob(withLargeGraph)
	j := create(t, s, in)
	_, err := s.UpdateJob(t.Context(), j.ID, func(j *job.Job) error {
		sameGraph(t, "the job fn is given", j, in)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func graphReplaced(t *testing.T, ns NewStore) {
	s := ns(t)
	j := create(t, s, newJob(withLargeGraph))
	want := *j
	want.Graph, want.Params = largeGraph(80<<10), json.RawMessage(`{"seed":2}`)
	got, err := s.UpdateJob(t.Context(), j.ID, func(j *job.Job) error {
		j.Graph, j.Params = want.Graph, want.Params
		return j.TransitionTo(job.StateDispatched, at(1))
	})
	if err != nil {
		t.Fatal(err)
	}
	sameGraph(t, "UpdateJob's result", got, &want)
	sameGraph(t, "GetJob after the graph was replaced", get(t, s, j.ID), &want)
	// A later transition that leaves them alone keeps the new ones.
	if _, err := s.UpdateJob(t.Context(), j.ID, transition(job.StateRunning)); err != nil {
		t.Fatal(err)
	}
	sameGraph(t, "GetJob after the next transition", get(t, s, j.ID), &want)
}

func graphAddedAndCleared(t *testing.T, ns NewStore) {
	s := ns(t)
	bare := create(t, s, newJob(func(j *job.Job) { j.Graph = nil }))
	sameGraph(t, "a job created without any", get(t, s, bare.ID), &job.Job{})
	added := &job.Job{Graph: json.RawMessage(`{"1":{}}`), ExtraData: json.RawMessage(`{"client_id":"c"}`)}
	if _, err := s.UpdateJob(t.Context(), bare.ID, func(j *job.Job) error {
		j.Graph, j.ExtraData = added.Graph, added.ExtraData
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	sameGraph(t, "GetJob after they were added", get(t, s, bare.ID), added)
	if _, err := s.UpdateJob(t.Context(), bare.ID, func(j *job.Job) error {
		j.Graph, j.Params, j.ExtraData = nil, nil, nil
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	sameGraph(t, "GetJob after they were cleared", get(t, s, bare.ID), &job.Job{})
}

func graphRejectedKeeps(t *testing.T, ns NewStore) {
	s := ns(t)
	in := newJob(withLargeGraph)
	j := create(t, s, in)
	_, err := s.UpdateJob(t.Context(), j.ID, func(j *job.Job) error {
		j.Graph = json.RawMessage(`{"1":`)
		return j.TransitionTo(job.StateDispatched, time.Now())
	})
	wantErr(t, "UpdateJob(graph cut short)", err, job.ErrInvalid)
	got := get(t, s, j.ID)
	sameGraph(t, "GetJob after a rejected update", got, in)
	if got.State != job.StateQueued {
		t.Errorf("state %s after a rejected update, want queued", got.State)
	}
}

// graphWebhookSnapshot: an event appended on its own reads the job for its
// webhook message, whose snapshot keeps the params (and not the rest).
func graphWebhookSnapshot(t *testing.T, ns NewStore) {
	s, ws := outbox(t, ns)
	in := newJob(withLargeGraph, withHook(job.WebhookStarted), func(j *job.Job) {
		j.Params = json.RawMessage(`{"prompt":"a cat","seed":1e3}`) // compact: the snapshot is re-encoded
	})
	j := create(t, s, in)
	setState(t, s, j.ID, job.StateRunning)
	if _, err := s.AppendEvent(context.Background(), j.ID, *job.NewEvent(job.EventStarted, nil)); err != nil {
		t.Fatal(err)
	}
	ms := messages(t, ws, j.ID)
	if len(ms) != 1 || ms[0].Job == nil {
		t.Fatalf("%d messages, want 1 with its job", len(ms))
	}
	want := &job.Job{Params: in.Params}
	sameGraph(t, "the message's snapshot", ms[0].Job, want)
}

// GraphRows counts an engine's stored graph rows (however it keeps a job's
// graph, params and extra_data apart from the job), and among them the
// orphans: rows whose job is gone.
type GraphRows func(t *testing.T) (rows, orphans int)

// DeletedJobsLeaveNoGraphRows creates jobs with and without graphs, deletes
// the finished ones as DeleteJob and a retention sweep (JobsFinishedBefore,
// then DeleteJob) do, and checks with count that only the live job's row
// is left. s must be empty.
func DeletedJobsLeaveNoGraphRows(t *testing.T, s job.Store, count GraphRows) {
	ctx := t.Context()
	var finished []*job.Job
	for i, st := range []job.State{job.StateSucceeded, job.StateFailed, job.StateCancelled, job.StateSucceeded} {
		finished = append(finished, finishedJob(t, s, st, at(i), withLargeGraph))
	}
	finishedJob(t, s, job.StateSucceeded, at(9), func(j *job.Job) { j.Graph = nil })
	live := create(t, s, newJob(withLargeGraph))
	if rows, orphans := count(t); rows != len(finished)+1 || orphans != 0 {
		t.Fatalf("before deleting: %d graph rows (%d orphans), want %d", rows, orphans, len(finished)+1)
	}
	if _, err := s.DeleteJob(ctx, finished[0].ID, nil); err != nil {
		t.Fatal(err)
	}
	ids, err := s.JobsFinishedBefore(ctx, at(60), 0)
	if err != nil || len(ids) != len(finished) {
		t.Fatalf("JobsFinishedBefore: %v, %v; want the %d jobs left finished", ids, err, len(finished))
	}
	for _, id := range ids {
		if _, err := s.DeleteJob(ctx, id, nil); err != nil {
			t.Fatal(err)
		}
	}
	if rows, orphans := count(t); rows != 1 || orphans != 0 {
		t.Errorf("after deleting every finished job: %d graph rows (%d orphans), want 1: the live job's", rows, orphans)
	}
	sameGraph(t, "the live job", get(t, s, live.ID), live)
}

// graphReturnedBytesAreFree: what the store returns is the caller's to
// modify in place; nothing the store keeps changes with it.
func graphReturnedBytesAreFree(t *testing.T, ns NewStore) {
	s := ns(t)
	in := newJob(withLargeGraph)
	want := *in
	want.Graph, want.Params, want.ExtraData = clone(in.Graph), clone(in.Params), clone(in.ExtraData)
	scribble := func(j *job.Job) {
		for _, b := range [][]byte{j.Graph, j.Params, j.ExtraData} {
			copy(b, "XXXX")
		}
	}
	j := create(t, s, in)
	scribble(j)
	scribble(in)
	for i := range 2 {
		got, err := s.UpdateJob(t.Context(), j.ID, func(j *job.Job) error {
			sameGraph(t, fmt.Sprintf("update %d's fn after the caller wrote over what it was given", i), j, &want)
			j.Progress.NodesDone++
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		sameGraph(t, fmt.Sprintf("update %d's result", i), got, &want)
		scribble(got)
	}
	sameGraph(t, "GetJob", get(t, s, j.ID), &want)
}

// graphFailedUpdateNoTrace: an update that replaced the graph and then
// failed leaves the graph as it was, for the next update too.
func graphFailedUpdateNoTrace(t *testing.T, ns NewStore) {
	s := ns(t)
	in := newJob(withLargeGraph)
	j := create(t, s, in)
	fails := map[string]func(*job.Job) error{
		"fn error": func(*job.Job) error { return job.ErrConflict },
		"illegal transition": func(j *job.Job) error {
			return j.TransitionTo(job.StateSucceeded, time.Now()) // from queued
		},
	}
	for name, fail := range fails {
		_, err := s.UpdateJob(t.Context(), j.ID, func(j *job.Job) error {
			j.Graph, j.Params = json.RawMessage(`{"replaced":{}}`), nil
			return fail(j)
		})
		if err == nil {
			t.Fatalf("%s: the update succeeded", name)
		}
		got, err := s.UpdateJob(t.Context(), j.ID, func(j *job.Job) error {
			sameGraph(t, name+": the next update's fn", j, in)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		sameGraph(t, name+": the next update's result", got, in)
	}
}

func clone(b []byte) []byte { return append([]byte(nil), b...) }

// GraphReplacedElsewhere checks that a store which has read or written a
// job's graph notices when another store on the same database (another
// replica) replaces it: its next update sees the new graph. a and b must
// share one empty database.
func GraphReplacedElsewhere(t *testing.T, a, b job.Store) {
	ctx := t.Context()
	j := create(t, a, newJob(withLargeGraph))
	if _, err := a.UpdateJob(ctx, j.ID, claim("gpu-1")); err != nil {
		t.Fatal(err)
	}
	want := &job.Job{Graph: largeGraph(70 << 10), Params: json.RawMessage(`{"by":"b"}`)}
	if _, err := b.UpdateJob(ctx, j.ID, func(j *job.Job) error {
		j.Graph, j.Params, j.ExtraData = want.Graph, want.Params, nil
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	got, err := a.UpdateJob(ctx, j.ID, func(j *job.Job) error {
		sameGraph(t, "a's next update's fn", j, want)
		return j.TransitionTo(job.StateRunning, time.Now())
	})
	if err != nil {
		t.Fatal(err)
	}
	sameGraph(t, "a's next update's result", got, want)
	sameGraph(t, "a's GetJob", get(t, a, j.ID), want)
}

// graphCreateThenUpdate: a job stored already updated keeps its graph for
// the updates that follow, and what the creation returned is the caller's.
func graphCreateThenUpdate(t *testing.T, ns NewStore) {
	s := ns(t)
	in := newJob(withLargeGraph)
	want := *in
	want.Graph, want.Params, want.ExtraData = clone(in.Graph), clone(in.Params), clone(in.ExtraData)
	c, err := s.CreateJobThenUpdate(t.Context(), in, &job.Event{Type: job.EventQueued}, func(j *job.Job) (*job.Event, error) {
		sameGraph(t, "fn", j, &want)
		return nil, j.TransitionTo(job.StateDispatched, time.Now())
	})
	if err != nil {
		t.Fatal(err)
	}
	sameGraph(t, "Created", c.Created, &want)
	sameGraph(t, "Updated", c.Updated, &want)
	for _, j := range []*job.Job{c.Created, c.Updated, in} {
		for _, b := range [][]byte{j.Graph, j.Params, j.ExtraData} {
			copy(b, "XXXX")
		}
	}
	got, err := s.UpdateJob(t.Context(), c.Updated.ID, func(j *job.Job) error {
		sameGraph(t, "the next update's fn", j, &want)
		return j.TransitionTo(job.StateRunning, time.Now())
	})
	if err != nil {
		t.Fatal(err)
	}
	sameGraph(t, "the next update's result", got, &want)
	sameGraph(t, "GetJob", get(t, s, got.ID), &want)
}

// CreateFailsWhole checks that a create whose graph row cannot be stored
// leaves nothing of the job, as after a crash between the two inserts. The
// caller has made every insert into job_graphs fail with "injected
// failure" (a trigger); db is a plain connection to s's database.
func CreateFailsWhole(t *testing.T, s job.Store, db *sql.DB) {
	t.Helper()
	in := &job.Job{ID: "j1", Graph: []byte(`{"1":{}}`)}
	_, _, _, err := s.CreateJobWithEvent(t.Context(), in, &job.Event{Type: job.EventQueued})
	if err == nil || !strings.Contains(err.Error(), "injected failure") {
		t.Fatalf("CreateJobWithEvent with the graph's insert failing: %v", err)
	}
	if _, err := s.GetJob(t.Context(), "j1"); !errors.Is(err, job.ErrNotFound) {
		t.Errorf("GetJob after the failed create: %v, want ErrNotFound", err)
	}
	var jobs, events int
	if err := db.QueryRowContext(t.Context(), `SELECT (SELECT count(*) FROM jobs), (SELECT count(*) FROM job_events)`).Scan(&jobs, &events); err != nil {
		t.Fatal(err)
	}
	if jobs != 0 || events != 0 {
		t.Errorf("%d jobs and %d events stored by a create that failed", jobs, events)
	}
}
