package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/comfygate/comfygate/api"
	gw "github.com/comfygate/comfygate/internal/gateway"
	"github.com/comfygate/comfygate/internal/httpapi"
	"github.com/comfygate/comfygate/internal/httpapi/httpapitest"
)

// jobBoard is a fake job list behind the real REST handler.
type jobBoard struct {
	jobs []api.Job

	mu      sync.Mutex // guards the fields below
	queries []api.JobQuery
	cancels []string
}

// asked returns the list queries and cancels received so far.
func (b *jobBoard) asked() (queries []api.JobQuery, cancels []string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.queries), slices.Clone(b.cancels)
}

func (b *jobBoard) find(id string) (api.Job, error) {
	for _, j := range b.jobs {
		if j.ID == id {
			return j, nil
		}
	}
	return api.Job{}, fmt.Errorf("job %s: %w", id, gw.ErrNotFound)
}

func (b *jobBoard) service() *httpapitest.Service {
	return &httpapitest.Service{
		ListJobsFunc: func(_ context.Context, _ string, q api.JobQuery) (api.JobList, error) {
			b.mu.Lock()
			b.queries = append(b.queries, q)
			b.mu.Unlock()
			return b.page(q), nil
		},
		GetJobFunc:  func(_ context.Context, _, id string) (api.Job, error) { return b.find(id) },
		WaitJobFunc: func(_ context.Context, _, id string) (api.Job, error) { return b.find(id) },
		CancelJobFunc: func(_ context.Context, _, id string) (api.Job, error) {
			b.mu.Lock()
			b.cancels = append(b.cancels, id)
			b.mu.Unlock()
			j, err := b.find(id)
			if err == nil && j.State == api.StateRunning {
				j.CancelRequested = true
			}
			return j, err
		},
		SubscribeJobFunc: func(_ context.Context, _, id, _ string) (httpapi.Stream, error) {
			j, err := b.find(id)
			if err != nil {
				return nil, err
			}
			return httpapitest.StreamOf(terminalEvent(j)), nil
		},
	}
}

// page serves pages of two jobs, filtered by state, with the index of the
// next job as the cursor.
func (b *jobBoard) page(q api.JobQuery) api.JobList {
	var match []api.Job
	for _, j := range b.jobs {
		if len(q.State) == 0 || containsState(q.State, j.State) {
			match = append(match, j)
		}
	}
	start := 0
	fmt.Sscan(q.Cursor, &start)
	end := min(start+2, len(match))
	out := api.JobList{Jobs: match[start:end]}
	if end < len(match) {
		out.NextCursor = fmt.Sprint(end)
	}
	return out
}

func containsState(list []api.JobState, s api.JobState) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func terminalEvent(j api.Job) api.Event {
	data, _ := json.Marshal(j)
	return api.Event{ID: "9", JobID: j.ID, Type: string(j.State), Time: cliEpoch, Data: data}
}

func ptr[T any](v T) *T { return &v }

func sampleJobs() []api.Job {
	at := func(s int) *time.Time { return ptr(cliEpoch.Add(time.Duration(s) * time.Second)) }
	return []api.Job{
		{ID: "a1b2c3d4-0000-4000-8000-000000000001", State: api.StateSucceeded, Workflow: "txt2img", WorkflowVersion: "9f86d081884c",
			Backend: "gpu0", Attempts: 1, CreatedAt: cliEpoch, DispatchedAt: at(1), StartedAt: at(1), FinishedAt: at(9),
			Outputs: []api.Output{
				{NodeID: "9", Kind: "images", Filename: "ComfyUI_00001_.png", ContentType: "image/png", Size: 123456, ArtifactID: "4f1c9e"},
				{NodeID: "12", Kind: "text", Text: "a caption"},
			}},
		{ID: "a1b2c3d4-0000-4000-8000-000000000002", State: api.StateRunning, Workflow: "txt2img", Backend: "gpu1", Attempts: 1, Priority: 5,
			CreatedAt: cliEpoch.Add(time.Minute), Progress: &api.Progress{Node: "3", NodeType: "KSampler", Value: 9, Max: 20, Fraction: 0.4567}},
		{ID: "a1b2c3d4-0000-4000-8000-000000000003", State: api.StateQueued, Workflow: "img2img", CreatedAt: cliEpoch.Add(2 * time.Minute), QueuePosition: ptr(3)},
		{ID: "a1b2c3d4-0000-4000-8000-000000000004", State: api.StateFailed, Workflow: "img2img", Backend: "gpu0", Attempts: 2,
			CreatedAt: cliEpoch.Add(3 * time.Minute), FinishedAt: at(200),
			Error: &api.JobError{Type: "execution_error", NodeID: "8", NodeType: "VAEDecode", Message: "CUDA out of memory"}},
	}
}

func TestJobsGolden(t *testing.T) {
	board := &jobBoard{jobs: sampleJobs()}
	url := startFakeAPI(t, board.service())
	for _, tc := range []struct {
		name   string
		args   []string
		golden string
	}{
		{"list", []string{"jobs", "list"}, "jobs_list.txt"},
		{"list json", []string{"jobs", "--json"}, "jobs_list.json"},
		{"get succeeded", []string{"jobs", "get", sampleJobs()[0].ID}, "jobs_get_succeeded.txt"},
		{"get failed", []string{"jobs", "get", sampleJobs()[3].ID}, "jobs_get_failed.txt"},
		{"get running", []string{"jobs", "get", sampleJobs()[1].ID}, "jobs_get_running.txt"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkGolden(t, tc.golden, mustCLI(t, append(tc.args, "--server", url)...).stdout)
		})
	}
}

func TestJobsListQuery(t *testing.T) {
	states := []api.JobState{"queued", "failed", "running"}
	for _, tc := range []struct {
		name    string
		args    []string
		want    []api.JobQuery // what the server was asked, page by page
		wantIDs int
	}{
		{"all pages", []string{"jobs", "list", "--limit", "0"}, []api.JobQuery{{}, {Cursor: "2"}}, 4},
		{"limit stops paging", []string{"jobs", "list", "--limit", "1"}, []api.JobQuery{{Limit: 1}}, 1},
		{"filters without the list verb", []string{"jobs", "--state=failed"}, []api.JobQuery{{State: []api.JobState{"failed"}, Limit: 50}}, 1},
		{"states", []string{"jobs", "list", "--state", "queued,failed", "--state", "running", "--workflow", "img2img"},
			[]api.JobQuery{{State: states, Workflow: "img2img", Limit: 50}, {State: states, Workflow: "img2img", Limit: 50, Cursor: "2"}}, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			board := &jobBoard{jobs: sampleJobs()}
			url := startFakeAPI(t, board.service())
			r := mustCLI(t, append(tc.args, "--server", url)...)
			if queries, _ := board.asked(); !cmp.Equal(tc.want, queries) {
				diff := cmp.Diff(tc.want, queries)
				t.Errorf("queries (-want +got):\n%s", diff)
			}
			if n := strings.Count(r.stdout, "a1b2c3d4-"); n != tc.wantIDs {
				t.Errorf("listed %d jobs, want %d:\n%s", n, tc.wantIDs, r.stdout)
			}
		})
	}
}

func TestJobsCancelWait(t *testing.T) {
	board := &jobBoard{jobs: sampleJobs()}
	url := startFakeAPI(t, board.service())
	jobs := sampleJobs()

	r := mustCLI(t, "jobs", "cancel", jobs[1].ID, "--server", url)
	if want := "cancel requested for job " + jobs[1].ID + " (running)\n"; r.stdout != want {
		t.Errorf("cancel running: %q, want %q", r.stdout, want)
	}
	r = mustCLI(t, "jobs", "cancel", jobs[0].ID, "--server", url)
	if want := "job " + jobs[0].ID + " succeeded\n"; r.stdout != want {
		t.Errorf("cancel finished: %q, want %q", r.stdout, want)
	}
	if _, cancels := board.asked(); !cmp.Equal([]string{jobs[1].ID, jobs[0].ID}, cancels) {
		diff := cmp.Diff([]string{jobs[1].ID, jobs[0].ID}, cancels)
		t.Errorf("cancels (-want +got):\n%s", diff)
	}

	r = mustCLI(t, "jobs", "wait", jobs[0].ID, "--server", url)
	if !strings.Contains(r.stdout, "state:      succeeded") {
		t.Errorf("wait succeeded printed:\n%s", r.stdout)
	}
	r = runCLI(t, "jobs", "wait", jobs[3].ID, "--server", url, "--json")
	var ended *jobEndedError
	if !errors.As(r.err, &ended) || ended.Job.State != api.StateFailed {
		t.Fatalf("wait for a failed job: err %v, want a jobEndedError", r.err)
	}
	if want := "job " + jobs[3].ID + " failed: execution_error in node 8 (VAEDecode): CUDA out of memory"; r.err.Error() != want {
		t.Errorf("error %q, want %q", r.err, want)
	}
	if !strings.Contains(r.stdout, `"state": "failed"`) {
		t.Errorf("--json printed:\n%s", r.stdout)
	}
}

func TestJobsErrors(t *testing.T) {
	board := &jobBoard{jobs: sampleJobs()}
	url := startFakeAPI(t, board.service())
	for _, tc := range []struct {
		name, message string
		args          []string
		usage         bool
	}{
		{"unknown state", `--state "done"`, []string{"jobs", "list", "--state", "done"}, true},
		{"negative limit", "--limit -1", []string{"jobs", "list", "--limit", "-1"}, true},
		{"unknown job", "404 not_found", []string{"jobs", "get", "a1b2c3d4-0000-4000-8000-0000000000ff"}, false},
		{"no id", "want 1 argument(s) ID", []string{"jobs", "cancel"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runCLI(t, append(tc.args, "--server", url)...)
			if r.err == nil || !strings.Contains(r.err.Error(), tc.message) || errors.Is(r.err, errUsage) != tc.usage {
				t.Fatalf("err = %v, want one saying %q (usage error: %v)", r.err, tc.message, tc.usage)
			}
		})
	}
	if queries, _ := board.asked(); len(queries) != 0 {
		t.Errorf("bad filters reached the server: %v", queries)
	}
}

func TestSizeText(t *testing.T) {
	for n, want := range map[int64]string{0: "-", 1: "1 B", 1023: "1023 B", 1536: "1.5 KiB", 5 << 20: "5.0 MiB", 3 << 40: "3.0 TiB"} {
		if got := sizeText(n); got != want {
			t.Errorf("sizeText(%d) = %q, want %q", n, got, want)
		}
	}
}
