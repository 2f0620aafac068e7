package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/comfygate/comfygate/internal/job"
)

var artifactTests = map[string]func(*testing.T, NewStore){
	"PutGetList": artifactPutGetList,
	"Idempotent": artifactIdempotent,
	"NotFound":   artifactNotFound,
	"Invalid":    artifactInvalid,
	"Owners":     artifactOwners,
}

func artifact(id, jobID, node, file string) *job.Artifact {
	return &job.Artifact{ID: id, ContentType: "image/png", Size: 1234, CreatedAt: at(1).Add(1500 * time.Nanosecond),
		Owner: "o", JobID: jobID, NodeID: node, Filename: file, Kind: job.ArtifactOutput}
}

func putArtifact(tb testing.TB, s job.Store, a *job.Artifact) {
	tb.Helper()
	if err := s.PutArtifact(context.Background(), a); err != nil {
		tb.Fatalf("PutArtifact(%s): %v", a.ID, err)
	}
}

func storedArtifact(a *job.Artifact) *job.Artifact {
	c := *a
	c.CreatedAt = c.CreatedAt.UTC().Truncate(time.Microsecond)
	return &c
}

func artifactPutGetList(t *testing.T, ns NewStore) {
	s := ns(t)
	a1 := artifact("aa", "job-1", "9", "a.png")
	a2 := artifact("bb", "job-1", "9", "b.png")
	a3 := artifact("aa", "job-2", "9", "a.png") // the same blob in another job
	in := &job.Artifact{ID: "cc", Kind: job.ArtifactInput, Filename: "upload.png"}
	for _, a := range []*job.Artifact{a1, a2, a3, in} {
		putArtifact(t, s, a)
	}
	got, err := s.GetArtifact(t.Context(), "aa")
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "GetArtifact returns the first record", storedArtifact(a1), got)
	list, err := s.ListArtifacts(t.Context(), "job-1")
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "ListArtifacts(job-1)", []*job.Artifact{storedArtifact(a1), storedArtifact(a2)}, list)
	up, err := s.GetArtifact(t.Context(), "cc")
	if err != nil || up.CreatedAt.IsZero() || up.JobID != "" || up.Kind != job.ArtifactInput {
		t.Errorf("upload artifact = %+v, %v; want a defaulted CreatedAt and no job", up, err)
	}
}

func artifactIdempotent(t *testing.T, ns NewStore) {
	s := ns(t)
	a := artifact("aa", "job-1", "9", "a.png")
	putArtifact(t, s, a)
	again := *a
	again.ContentType, again.CreatedAt = "text/plain", at(99)
	putArtifact(t, s, &again)
	list, err := s.ListArtifacts(t.Context(), "job-1")
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "after a repeated put", []*job.Artifact{storedArtifact(a)}, list)
}

func artifactNotFound(t *testing.T, ns NewStore) {
	s := ns(t)
	_, err := s.GetArtifact(t.Context(), "ffff")
	wantErr(t, "GetArtifact(unknown)", err, job.ErrNotFound)
	_, err = s.GetOwnedArtifact(t.Context(), "ffff", "o")
	wantErr(t, "GetOwnedArtifact(unknown)", err, job.ErrNotFound)
	list, err := s.ListArtifacts(t.Context(), "no-such-job")
	if err != nil || len(list) != 0 {
		t.Errorf("ListArtifacts(unknown job) = %v, %v; want empty", list, err)
	}
}

func artifactInvalid(t *testing.T, ns NewStore) {
	err := ns(t).PutArtifact(t.Context(), &job.Artifact{Kind: job.ArtifactOutput})
	wantErr(t, "PutArtifact(no id)", err, job.ErrInvalid)
}

// artifactOwners: the same bytes uploaded under the same name by two
// owners are a record each, and each owner finds its own; an owner who
// holds no record finds none, whoever else does.
func artifactOwners(t *testing.T, ns NewStore) {
	s := ns(t)
	upload := func(owner string) *job.Artifact {
		return &job.Artifact{ID: "aa", ContentType: "image/png", Size: 3, CreatedAt: at(1), Owner: owner,
			Filename: "cat.png", Kind: job.ArtifactInput}
	}
	a, b := upload("alice"), upload("bob")
	b.CreatedAt = at(2)
	putArtifact(t, s, a)
	putArtifact(t, s, b)
	putArtifact(t, s, upload("alice")) // again: still one record of alice's
	for _, want := range []*job.Artifact{a, b} {
		got, err := s.GetOwnedArtifact(t.Context(), "aa", want.Owner)
		if err != nil {
			t.Fatalf("GetOwnedArtifact(aa, %s): %v", want.Owner, err)
		}
		diff(t, "the record of "+want.Owner, storedArtifact(want), got)
	}
	_, err := s.GetOwnedArtifact(t.Context(), "aa", "carol")
	wantErr(t, "GetOwnedArtifact by an owner without a record", err, job.ErrNotFound)
	first, err := s.GetArtifact(t.Context(), "aa")
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "GetArtifact is the first record, whoever holds it", storedArtifact(a), first)
}
