package storetest

import (
	"testing"

	"github.com/comfygate/comfygate/internal/job"
)

// endNames is a store for the cases of names stored with a job update.
func endNames(t *testing.T, ns NewStore) (job.Store, job.ComfyFileStore) {
	t.Helper()
	s := ns(t)
	fs, ok := s.(job.ComfyFileStore)
	if !ok {
		t.Fatal("the store does not implement job.ComfyFileStore")
	}
	return s, fs
}

// A job's end stores its free names in its own transaction and hands back
// the taken ones, unstored, without failing the rest.
func comfyNamesWithUpdate(t *testing.T, ns NewStore) {
	s, fs := endNames(t, ns)
	j := create(t, s, newJob())
	earlier := comfyFile("o", "output", "", "basic_00001_.png")
	if err := fs.CreateComfyFile(t.Context(), earlier); err != nil {
		t.Fatal(err)
	}
	free, taken := comfyFile("o", "output", "", "basic_00002_.png"), comfyFile("o", "output", "", "basic_00001_.png")
	free.JobID, taken.JobID, taken.ArtifactID = j.ID, j.ID, "cc"
	got, evs, gotTaken, err := fs.UpdateJobWithNames(t.Context(), j.ID, func(j *job.Job) ([]job.Event, error) {
		j.Priority = 7
		return []job.Event{*job.NewEvent(job.EventOutput, nil)}, nil
	}, []*job.ComfyFile{free, taken})
	if err != nil {
		t.Fatal(err)
	}
	if got.Priority != 7 || len(evs) != 1 {
		t.Errorf("update: priority %d, %d events; want 7 and 1", got.Priority, len(evs))
	}
	diff(t, "taken names", []*job.ComfyFile{taken}, gotTaken)
	stored, err := fs.GetComfyFile(t.Context(), "o", "output", "", "basic_00002_.png")
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "the free name", storedComfyFile(free), stored)
	if kept, err := fs.GetComfyFile(t.Context(), "o", "output", "", "basic_00001_.png"); err != nil || kept.ArtifactID != "aa" {
		t.Errorf("the taken name: %+v, %v; want the earlier record (artifact aa)", kept, err)
	}
}

// An invalid name stores nothing: neither the update nor the other names.
func comfyNamesWithUpdateValid(t *testing.T, ns NewStore) {
	s, fs := endNames(t, ns)
	j := create(t, s, newJob())
	good := comfyFile("o", "output", "", "good.png")
	_, _, _, err := fs.UpdateJobWithNames(t.Context(), j.ID, func(j *job.Job) ([]job.Event, error) {
		j.Priority = 7
		return nil, nil
	}, []*job.ComfyFile{good, {Type: "output"}})
	wantErr(t, "UpdateJobWithNames(name without filename)", err, job.ErrInvalid)
	if got := get(t, s, j.ID); got.Priority == 7 {
		t.Error("the update was stored beside an invalid name")
	}
	_, err = fs.GetComfyFile(t.Context(), "o", "output", "", "good.png")
	wantErr(t, "GetComfyFile(name stored beside an invalid one)", err, job.ErrNotFound)
}
