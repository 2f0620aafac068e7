package storetest

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/comfygate/comfygate/internal/job"
)

var listTests = map[string]func(*testing.T, NewStore){
	"Filters":                listFilters,
	"Order":                  listOrder,
	"PagesStableUnderInsert": listPagesUnderInsert,
	"Invalid":                listInvalid,
	"Empty":                  listEmpty,
	"Lean":                   listLean,
}

// listLean: a lean page has every field of the jobs but their large ones.
func listLean(t *testing.T, ns NewStore) {
	s := ns(t)
	in := create(t, s, newJob(func(j *job.Job) {
		j.Params, j.ExtraData = json.RawMessage(`{"prompt":"a fox"}`), json.RawMessage(`{"client_id":"c"}`)
		j.Comfy = json.RawMessage(`{"number":"7"}`)
	}))
	if _, err := s.UpdateJob(t.Context(), in.ID, func(j *job.Job) error {
		j.ComfyHistory = json.RawMessage(`{"outputs":{}}`)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	want := get(t, s, in.ID)
	if len(want.Graph) == 0 || len(want.Params) == 0 || len(want.ExtraData) == 0 || len(want.ComfyHistory) == 0 {
		t.Fatalf("the job lacks a large field to leave out: %+v", want)
	}
	page, _, err := s.ListJobs(t.Context(), job.JobFilter{Lean: true})
	if err != nil || len(page) != 1 {
		t.Fatalf("lean ListJobs = %d jobs, %v", len(page), err)
	}
	want.Params, want.Graph, want.ExtraData, want.ComfyHistory = nil, nil, nil, nil
	diff(t, "lean job", want, page[0])
}

func listAll(tb testing.TB, s job.Store, f job.JobFilter) []string {
	tb.Helper()
	var out []string
	for {
		jobs, next, err := s.ListJobs(tb.Context(), f)
		if err != nil {
			tb.Fatalf("ListJobs(%+v): %v", f, err)
		}
		out = append(out, ids(jobs)...)
		if next == "" {
			return out
		}
		f.Cursor = next
	}
}

func listFilters(t *testing.T, ns NewStore) {
	s := ns(t)
	mk := func(owner, wf, source, client string, created int) *job.Job {
		return create(t, s, newJob(func(j *job.Job) {
			j.Owner, j.Workflow, j.Source, j.ClientID, j.CreatedAt = owner, wf, source, client, at(created)
		}))
	}
	a := mk("alice", "wf1", job.SourceREST, "", 1)
	b := mk("alice", "wf2", job.SourceComfy, "c1", 2)
	c := mk("bob", "wf1", job.SourceComfy, "c1", 3)
	d := mk("bob", "wf2", job.SourceFlask, "c2", 4)
	setState(t, s, b.ID, job.StateRunning)
	setState(t, s, c.ID, job.StateSucceeded)
	tests := map[string]struct {
		f    job.JobFilter
		want []*job.Job
	}{
		"none":            {job.JobFilter{Order: job.OrderAsc}, []*job.Job{a, b, c, d}},
		"owner":           {job.JobFilter{Owner: "alice"}, []*job.Job{b, a}},
		"workflow":        {job.JobFilter{Workflow: "wf2"}, []*job.Job{d, b}},
		"source":          {job.JobFilter{Source: job.SourceComfy}, []*job.Job{c, b}},
		"client":          {job.JobFilter{ClientID: "c1"}, []*job.Job{c, b}},
		"one state":       {job.JobFilter{States: []job.State{job.StateQueued}}, []*job.Job{d, a}},
		"states":          {job.JobFilter{States: []job.State{job.StateRunning, job.StateSucceeded}}, []*job.Job{c, b}},
		"created after":   {job.JobFilter{CreatedAfter: at(2)}, []*job.Job{d, c}},
		"combined":        {job.JobFilter{Owner: "bob", Source: job.SourceComfy, States: []job.State{job.StateSucceeded}}, []*job.Job{c}},
		"no match":        {job.JobFilter{Owner: "carol"}, nil},
		"paged, filtered": {job.JobFilter{Owner: "bob", Limit: 1}, []*job.Job{d, c}},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			diff(t, "ids", ids(tt.want), listAll(t, s, tt.f))
		})
	}
}

func listOrder(t *testing.T, ns NewStore) {
	s := ns(t)
	jobs := createN(t, s, 4)
	want := ids(jobs)
	diff(t, "asc", want, listAll(t, s, job.JobFilter{Order: job.OrderAsc}))
	slices.Reverse(want)
	diff(t, "default (desc)", want, listAll(t, s, job.JobFilter{}))
	diff(t, "desc", want, listAll(t, s, job.JobFilter{Order: job.OrderDesc}))
	page, _, err := s.ListJobs(t.Context(), job.JobFilter{Limit: 1})
	if err != nil || len(page) != 1 {
		t.Fatalf("ListJobs(limit 1) = %d jobs, %v", len(page), err)
	}
	diff(t, "listed job equals GetJob", get(t, s, page[0].ID), page[0])
}

// listPagesUnderInsert pages through jobs while more are created: no job is
// returned twice, none that existed is skipped, and an ascending listing
// reaches the new ones.
func listPagesUnderInsert(t *testing.T, ns NewStore) {
	for _, order := range []job.Order{job.OrderDesc, job.OrderAsc} {
		t.Run(string(order), func(t *testing.T) {
			s := ns(t)
			old := ids(createN(t, s, 25))
			f := job.JobFilter{Limit: 10, Order: order}
			var seen []string
			for page := 0; ; page++ {
				jobs, next, err := s.ListJobs(t.Context(), f)
				if err != nil {
					t.Fatal(err)
				}
				if len(jobs) > 10 {
					t.Fatalf("page of %d jobs with limit 10", len(jobs))
				}
				seen = append(seen, ids(jobs)...)
				if page == 0 {
					createN(t, s, 5) // inserted between pages
				}
				if next == "" {
					break
				}
				f.Cursor = next
			}
			want := old
			if order == job.OrderDesc {
				want = slices.Clone(old)
				slices.Reverse(want)
			} else {
				want = listAll(t, s, job.JobFilter{Order: job.OrderAsc}) // the 25 then the 5
			}
			diff(t, "ids across pages", want, seen)
		})
	}
}

func listInvalid(t *testing.T, ns NewStore) {
	s := ns(t)
	createN(t, s, 3)
	_, next, err := s.ListJobs(t.Context(), job.JobFilter{Limit: 1, Order: job.OrderDesc})
	if err != nil || next == "" {
		t.Fatalf("first page: next %q, %v", next, err)
	}
	tests := map[string]job.JobFilter{
		"garbage cursor":        {Cursor: "%%%not base64"},
		"cursor of other order": {Cursor: next, Order: job.OrderAsc},
		"cursor not a number":   {Cursor: "ZGFiYw"}, // "dabc"
		"unknown state":         {States: []job.State{"done"}},
		"unknown order":         {Order: "sideways"},
	}
	for name, f := range tests {
		t.Run(name, func(t *testing.T) {
			_, _, err := s.ListJobs(t.Context(), f)
			wantErr(t, "ListJobs", err, job.ErrInvalid)
		})
	}
}

func listEmpty(t *testing.T, ns NewStore) {
	jobs, next, err := ns(t).ListJobs(t.Context(), job.JobFilter{})
	if err != nil || len(jobs) != 0 || next != "" {
		t.Errorf("ListJobs on an empty store = %v, %q, %v", jobs, next, err)
	}
}
