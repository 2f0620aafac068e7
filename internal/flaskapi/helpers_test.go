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

	"github.com/comfygate/comfygate/api"
	"github.com/comfygate/comfygate/internal/gateway"
	"github.com/comfygate/comfygate/internal/job"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// fakeService is a hand-written Service: each method calls its Func, and
// SubmitJob records the requests it got.
type fakeService struct {
	SubmitJobFunc     func(ctx context.Context, owner string, req api.SubmitJobRequest) (api.Job, error)
	GetWorkflowFunc   func(ctx context.Context, name string) (api.Workflow, error)
	ListWorkflowsFunc func(ctx context.Context) ([]api.Workflow, error)
	ReadyFunc         func(ctx context.Context) error
	BackendsFunc      func(ctx context.Context) ([]api.Backend, error)

	mu        sync.Mutex // guards submitted
	submitted []submitted
}

type submitted struct {
	Owner string
	Req   api.SubmitJobRequest
}

var errNotImplemented = errors.New("fake: not implemented")

func (f *fakeService) SubmitJob(ctx context.Context, owner string, req api.SubmitJobRequest, _ string) (api.Job, bool, error) {
	f.mu.Lock()
	f.submitted = append(f.submitted, submitted{owner, req})
	f.mu.Unlock()
	if f.SubmitJobFunc == nil {
		return api.Job{}, false, errNotImplemented
	}
	j, err := f.SubmitJobFunc(ctx, owner, req)
	return j, false, err
}

func (f *fakeService) Submitted() []submitted {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.submitted)
}

func (f *fakeService) GetWorkflow(ctx context.Context, name string) (api.Workflow, error) {
	if f.GetWorkflowFunc == nil {
		return api.Workflow{}, errNotImplemented
	}
	return f.GetWorkflowFunc(ctx, name)
}

func (f *fakeService) ListWorkflows(ctx context.Context) ([]api.Workflow, error) {
	if f.ListWorkflowsFunc == nil {
		return nil, errNotImplemented
	}
	return f.ListWorkflowsFunc(ctx)
}

func (f *fakeService) Ready(ctx context.Context) error {
	if f.ReadyFunc == nil {
		return errNotImplemented
	}
	return f.ReadyFunc(ctx)
}

func (f *fakeService) Backends(ctx context.Context) ([]api.Backend, error) {
	if f.BackendsFunc == nil {
		return nil, errNotImplemented
	}
	return f.BackendsFunc(ctx)
}

// fakeStore is a JobStore over a fixed list of jobs, newest last.
type fakeStore struct {
	jobs      []*job.Job
	positions map[string]int // queue positions of dispatchable jobs
	err       error          // returned by every method when set
}

func (s *fakeStore) GetJob(_ context.Context, id string) (*job.Job, error) {
	if s.err != nil {
		return nil, s.err
	}
	for _, j := range s.jobs {
		if j.ID == id {
			c := *j
			return &c, nil
		}
	}
	return nil, fmt.Errorf("job %s: %w", id, job.ErrNotFound)
}

// ListJobs filters by owner and states, newest first, like the real store.
func (s *fakeStore) ListJobs(_ context.Context, f job.JobFilter) ([]*job.Job, string, error) {
	if s.err != nil {
		return nil, "", s.err
	}
	var out []*job.Job
	for _, j := range slices.Backward(s.jobs) {
		if (f.Owner == "" || j.Owner == f.Owner) && (len(f.States) == 0 || slices.Contains(f.States, j.State)) {
			out = append(out, j)
		}
	}
	return out[:min(len(out), f.PageLimit())], "", nil
}

func (s *fakeStore) QueuePosition(_ context.Context, id string) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	if pos, ok := s.positions[id]; ok {
		return pos, nil
	}
	return 0, job.ErrConflict
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
func storedWorkflows(tb testing.TB) map[string]api.Workflow {
	tb.Helper()
	out := map[string]api.Workflow{}
	for _, name := range []string{"txt2img", "flux-text", "sdxl-pair"} {
		out[name] = api.Workflow{Name: name, Version: "v-" + name, Graph: readTestdata(tb, name+".json")}
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
