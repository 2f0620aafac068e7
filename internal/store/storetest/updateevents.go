package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/comfygate/comfygate/internal/job"
)

var updateWithEventsTests = map[string]func(*testing.T, NewStore){
	"AppendsInOrder":      updateEventsAppends,
	"NoneAppendsNone":     updateEventsNone,
	"OneInvalidAbortsAll": updateEventsInvalid,
	"RecordsArtifacts":    updateEventsArtifacts,
	"AbortRecordsNone":    updateEventsArtifactsAbort,
}

func updateEventsAppends(t *testing.T, ns NewStore) {
	s := ns(t)
	j := create(t, s, newJob())
	first := appendEvent(t, s, j.ID, "queued")
	got, evs, err := s.UpdateJobWithEvents(t.Context(), j.ID, func(j *job.Job) ([]job.Event, error) {
		j.Outputs = []job.Output{{ArtifactID: "ff", NodeID: "9"}}
		return []job.Event{
			{JobID: "ignored", Seq: 42, Type: "output", Data: json.RawMessage(`{"node_id":"9"}`), Time: at(2)},
			{Type: "output", Data: json.RawMessage(`{"node_id":"10"}`)},
		}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 2 || got.EventSeq != 3 {
		t.Fatalf("%d events, job EventSeq %d; want 2 events and EventSeq 3", len(evs), got.EventSeq)
	}
	if evs[1].Time.IsZero() || evs[1].Time.Location() != time.UTC {
		t.Errorf("second event time %v, want the store's now in UTC", evs[1].Time)
	}
	want := []job.Event{first,
		{JobID: j.ID, Seq: 2, Type: "output", Data: json.RawMessage(`{"node_id":"9"}`), Time: at(2)},
		{JobID: j.ID, Seq: 3, Type: "output", Data: json.RawMessage(`{"node_id":"10"}`), Time: evs[1].Time}}
	diff(t, "returned events", want[1:], evs)
	diff(t, "ListEvents", want, events(t, s, j.ID))
	diff(t, "GetJob", got, get(t, s, j.ID))
}

func updateEventsNone(t *testing.T, ns NewStore) {
	s := ns(t)
	j := create(t, s, newJob())
	got, evs, err := s.UpdateJobWithEvents(t.Context(), j.ID, func(j *job.Job) ([]job.Event, error) {
		j.Priority = 2
		return nil, nil
	})
	if err != nil || evs != nil || got.EventSeq != 0 || got.Priority != 2 {
		t.Errorf("job %+v, events %v, err %v; want priority 2 and no events", got, evs, err)
	}
	if n := len(events(t, s, j.ID)); n != 0 {
		t.Errorf("%d events stored, want none", n)
	}
}

func updateEventsInvalid(t *testing.T, ns NewStore) {
	s := ns(t)
	j := create(t, s, newJob())
	_, _, err := s.UpdateJobWithEvents(t.Context(), j.ID, func(j *job.Job) ([]job.Event, error) {
		j.Priority = 2
		return []job.Event{{Type: "ok"}, {Type: "bad", Data: json.RawMessage(`{`)}}, nil
	})
	wantErr(t, "UpdateJobWithEvents(one invalid event)", err, job.ErrInvalid)
	diff(t, "job after invalid events", j, get(t, s, j.ID))
	if n := len(events(t, s, j.ID)); n != 0 {
		t.Errorf("%d events stored, want none", n)
	}
}

func outputArtifact(jobID, id string) *job.Artifact {
	return &job.Artifact{ID: id, ContentType: "image/png", Size: 7, CreatedAt: at(4), Owner: "o",
		JobID: jobID, NodeID: "9", Filename: id + ".png", Kind: job.ArtifactOutput}
}

func listArtifacts(tb testing.TB, s job.Store, jobID string) []*job.Artifact {
	tb.Helper()
	arts, err := s.ListArtifacts(context.Background(), jobID)
	if err != nil {
		tb.Fatalf("ListArtifacts(%s): %v", jobID, err)
	}
	return arts
}

func updateEventsArtifacts(t *testing.T, ns NewStore) {
	s := ns(t)
	j := create(t, s, newJob())
	a, b := outputArtifact(j.ID, "aa"), outputArtifact(j.ID, "bb")
	_, evs, err := s.UpdateJobWithEvents(t.Context(), j.ID, func(j *job.Job) ([]job.Event, error) {
		return []job.Event{{Type: "output"}}, nil
	}, a, b)
	if err != nil || len(evs) != 1 {
		t.Fatalf("events %v, err %v; want one event", evs, err)
	}
	diff(t, "ListArtifacts", []*job.Artifact{a, b}, listArtifacts(t, s, j.ID))
}

func updateEventsArtifactsAbort(t *testing.T, ns NewStore) {
	s := ns(t)
	j := create(t, s, newJob())
	sentinel := errors.New("no")
	_, _, err := s.UpdateJobWithEvents(t.Context(), j.ID, func(j *job.Job) ([]job.Event, error) {
		return []job.Event{{Type: "output"}}, sentinel
	}, outputArtifact(j.ID, "aa"))
	if err != sentinel { //nolint:errorlint // returned unchanged
		t.Errorf("err = %v, want fn's error", err)
	}
	_, _, err = s.UpdateJobWithEvents(t.Context(), j.ID, func(j *job.Job) ([]job.Event, error) {
		return []job.Event{{Type: "output"}}, nil
	}, outputArtifact(j.ID, "bb"), outputArtifact(j.ID, ""))
	wantErr(t, "UpdateJobWithEvents(artifact without id)", err, job.ErrInvalid)
	if arts := listArtifacts(t, s, j.ID); len(arts) != 0 {
		t.Errorf("artifacts %v after failed updates, want none", arts)
	}
	if n := len(events(t, s, j.ID)); n != 0 {
		t.Errorf("%d events stored, want none", n)
	}
	diff(t, "job after failed updates", j, get(t, s, j.ID))
}
