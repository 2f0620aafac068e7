package flaskapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"

	"github.com/comfygate/comfygate/internal/gateway"
	"github.com/comfygate/comfygate/internal/job"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// fakeService is a hand-written Service: each use case calls its Func,
// Submit records the submissions it got, and the jobs are read from a
// fakeStore with the gateway's owner rule.
type fakeService struct {
	SubmitFunc        func(ctx context.Context, sub job.Submission) (gateway.Submitted, error)
	GetWorkflowFunc   func(ctx context.Context, owner, name string) (gateway.Workflow, error)
	ListWorkflowsFunc func(ctx context.Context, owner string) ([]gateway.Workflow, error)
	ReadyFunc         func(ctx context.Context) error
	BackendsFunc      func(ctx context.Context) ([]gateway.Backend, error)
	store             *fakeStore

	mu        sync.Mutex // guards submitted
	submitted []job.Submission
}

var errNotImplemented = errors.New("fake: not implemented")

func (f *fakeService) Submit(ctx context.Context, sub job.Submission) (gateway.Submitted, error) {
	f.mu.Lock()
	f.submitted = append(f.submitted, sub)
	f.mu.Unlock()
	if f.SubmitFunc == nil {
		return gateway.Submitted{}, errNotImplemented
	}
	return f.SubmitFunc(ctx, sub)
}

func (f *fakeService) Submitted() []job.Submission {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.submitted)
}

// GetJob hides other owners' jobs as the gateway does, and gives waiting
// jobs the store's position.
func (f *fakeService) GetJob(_ context.Context, owner, id string) (gateway.JobStatus, error) {
	j, err := f.store.get(id)
	if err != nil {
		return gateway.JobStatus{}, err
	}
	if owner != "" && j.Owner != owner {
		return gateway.JobStatus{}, fmt.Errorf("job %q: %w", id, gateway.ErrNotFound)
	}
	st := gateway.JobStatus{Job: j}
	if pos, ok := f.store.positions[id]; ok && j.State.Dispatchable() {
		st.QueuePosition = &pos
	}
	return st, nil
}

// ListJobs filters by owner and states, newest first, like the real one.
func (f *fakeService) ListJobs(_ context.Context, owner string, q gateway.JobQuery) (gateway.JobPage, error) {
	if f.store.err != nil {
		return gateway.JobPage{}, f.store.err
	}
	var out []gateway.JobStatus
	for _, j := range slices.Backward(f.store.jobs) {
		if (owner == "" || j.Owner == owner) && (len(q.States) == 0 || slices.Contains(q.States, j.State)) {
			out = append(out, gateway.JobStatus{Job: j})
		}
	}
	limit := job.JobFilter{Limit: q.Limit}.PageLimit()
	return gateway.JobPage{Jobs: out[:min(len(out), limit)]}, nil
}

func (f *fakeService) GetWorkflow(ctx context.Context, owner, name string) (gateway.Workflow, error) {
	if f.GetWorkflowFunc == nil {
		return gateway.Workflow{}, errNotImplemented
	}
	return f.GetWorkflowFunc(ctx, owner, name)
}

func (f *fakeService) ListWorkflows(ctx context.Context, owner string) ([]gateway.Workflow, error) {
	if f.ListWorkflowsFunc == nil {
		return nil, errNotImplemented
	}
	return f.ListWorkflowsFunc(ctx, owner)
}

func (f *fakeService) Ready(ctx context.Context) error {
	if f.ReadyFunc == nil {
		return errNotImplemented
	}
	return f.ReadyFunc(ctx)
}

func (f *fakeService) Backends(ctx context.Context) ([]gateway.Backend, error) {
	if f.BackendsFunc == nil {
		return nil, errNotImplemented
	}
	return f.BackendsFunc(ctx)
}

// fakeStore is the fake service's jobs, newest last.
type fakeStore struct {
	jobs      []*job.Job
	positions map[string]int // queue positions of dispatchable jobs
	err       error          // returned by every read when set
}

func (s *fakeStore) get(id string) (*job.Job, error) {
	if s.err != nil {
		return nil, s.err
	}
	for _, j := range s.jobs {
		if j.ID == id {
			c := *j
			return &c, nil
		}
	}
	return nil, fmt.Errorf("job %q: %w", id, gateway.ErrNotFound)
}

// readTestdata returns a file of testdata/.
func readTestdata(tb testing.TB, name string) []byte {
	tb.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		tb.Fatal(err)
	}
	return data
}

// storedWorkflows are the fake service's workflows, by name.
func storedWorkflows(tb testing.TB) map[string]gateway.Workflow {
	tb.Helper()
	out := map[string]gateway.Workflow{}
	for _, name := range []string{"txt2img", "flux-text", "sdxl-pair"} {
		out[name] = gateway.Workflow{Workflow: &job.Workflow{Name: name, Version: "v-" + name, Graph: readTestdata(tb, name+".json")}}
	}
	return out
}

// recorded is a response as a golden file keeps it: status, the headers
// clients act on, and the body.
func recorded(rec *httptest.ResponseRecorder) string {
	var b strings.Builder
	fmt.Fprintf(&b, "HTTP %d\n", rec.Code)
	for _, h := range []string{"Content-Type", "Allow", "Retry-After", "WWW-Authenticate"} {
		if v := rec.Header().Get(h); v != "" {
			fmt.Fprintf(&b, "%s: %s\n", h, v)
		}
	}
	b.WriteString("\n")
	body := rec.Body.Bytes()
	var pretty bytes.Buffer
	if json.Indent(&pretty, body, "", "  ") == nil {
		body = append(pretty.Bytes(), '\n')
	}
	b.Write(body)
	return b.String()
}

// checkGolden compares got with testdata/golden/name.golden (or writes it
// with -update).
func checkGolden(tb testing.TB, name, got string) {
	tb.Helper()
	path := filepath.Join("testdata", "golden", name+".golden")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			tb.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		tb.Fatalf("%v (run with -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		tb.Errorf("%s mismatch (-want +got):\n%s", path, diff)
	}
}

var (
	t0       = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	imageID1 = strings.Repeat("a1", 32)
	imageID2 = strings.Repeat("b2", 32)
	tempID   = strings.Repeat("c3", 32)
)

// workflowNotFound is the gateway's error for an unknown workflow.
func workflowNotFound(name string) error {
	return fmt.Errorf("workflow %q: %w", name, gateway.ErrNotFound)
}

// serveWith sends one body-less request to h.
func serveWith(h http.Handler, method, path string) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, path, nil))
	return rec
}
