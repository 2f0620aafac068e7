package flaskapi

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/comfygate/comfygate/internal/job"
)

var statusCases = []routeCase{
	{name: "status-pending", path: "/api/task_status/job-queued"},
	{name: "status-dispatched-meanwhile", path: "/api/task_status/job-retrying"},
	{name: "status-running", path: "/api/task_status/job-running"},
	{name: "status-completed", path: "/api/task_status/job-done"},
	{name: "status-completed-no-images", path: "/api/task_status/job-text"},
	{name: "status-failed", path: "/api/task_status/job-failed"},
	{name: "status-cancelled", path: "/api/task_status/job-cancelled"},
	{name: "status-unknown", path: "/api/task_status/nope"},
	{name: "status-other-owner", path: "/api/task_status/job-bob"},
	{name: "status-store-error", path: "/api/task_status/job-done", setup: func(_ *fakeService, s *fakeStore, _ *Config) {
		s.err = errors.New("database is locked")
	}},
	{name: "status-prefix", path: "/flask/api/task_status/job-done", setup: func(_ *fakeService, _ *fakeStore, c *Config) {
		c.BaseURL, c.ArtifactPath = "https://gw.example.com", "/files"
	}},
	{name: "image-done", path: "/api/image/job-done"},
	{name: "image-running", path: "/api/image/job-running"},
	{name: "image-failed", path: "/api/image/job-failed"},
	{name: "image-cancelled", path: "/api/image/job-cancelled"},
	{name: "image-no-images", path: "/api/image/job-text"},
	{name: "image-unknown", path: "/api/image/nope"},
	{name: "image-other-owner", path: "/api/image/job-bob"},
}

var historyCases = []routeCase{
	{name: "history-all", path: "/flask/api/history"},
	{name: "history-max-items", path: "/flask/api/history?max_items=1"},
	{name: "history-bad-max-items", path: "/flask/api/history?max_items=-1"},
	{name: "history-one", path: "/flask/api/history/job-done"},
	{name: "history-one-failed", path: "/flask/api/history/job-failed"},
	{name: "history-one-cancelled", path: "/flask/api/history/job-cancelled"},
	{name: "history-one-running", path: "/flask/api/history/job-running"},
	{name: "history-one-unknown", path: "/flask/api/history/nope"},
	{name: "history-one-other-owner", path: "/flask/api/history/job-bob"},
	{name: "history-root", path: "/api/history/job-done", setup: func(_ *fakeService, _ *fakeStore, c *Config) {
		c.RootHistory = true
	}},
	{name: "history-unauthorized", path: "/flask/api/history", owner: "-"},
}

func TestAuthOffSeesEveryJob(t *testing.T) {
	t.Parallel()
	svc, _ := newFakes(t)
	h, err := New(Config{Service: svc})
	if err != nil {
		t.Fatal(err)
	}
	rec := serveWith(h, "GET", "/api/image/job-bob")
	if rec.Code != 200 {
		t.Fatalf("status %d, want 200 with auth off: %s", rec.Code, rec.Body)
	}
}

func TestPatterns(t *testing.T) {
	t.Parallel()
	root := []string{"GET /api/test_comfy", "GET /api/workflows", "POST /api/workflow/{name}",
		"GET /api/task_status/{prompt_id}", "GET /api/image/{prompt_id}"}
	for _, tc := range []struct {
		name        string
		rootHistory bool
		want        []string
	}{
		{"default", false, append(slices.Clone(root), "/flask/")},
		{"root-history", true, append(slices.Clone(root), "GET /api/history", "GET /api/history/{prompt_id}", "/flask/")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			svc, _ := newFakes(t)
			h, err := New(Config{Service: svc, RootHistory: tc.rootHistory})
			if err != nil {
				t.Fatal(err)
			}
			if got := h.Patterns(); !slices.Equal(got, tc.want) {
				t.Errorf("Patterns() = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestNewNeedsService(t *testing.T) {
	t.Parallel()
	if _, err := New(Config{Owner: headerOwner}); err == nil {
		t.Error("New without a Service succeeded, want an error")
	}
}

func TestExecutionTime(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		j    job.Job
		want float64
	}{
		{"from start", job.Job{CreatedAt: t0, StartedAt: t0.Add(time.Second), FinishedAt: t0.Add(3500 * time.Millisecond)}, 2.5},
		{"from dispatch", job.Job{CreatedAt: t0, DispatchedAt: t0.Add(time.Second), FinishedAt: t0.Add(2 * time.Second)}, 1},
		{"from creation", job.Job{CreatedAt: t0, FinishedAt: t0.Add(1234567 * time.Microsecond)}, 1.235},
		{"clock skew", job.Job{CreatedAt: t0, FinishedAt: t0.Add(-time.Second)}, 0},
	} {
		if got := executionTime(&tc.j); got != tc.want {
			t.Errorf("%s: executionTime = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestHistoryHidesExtraData: the stored extra_data may hold Comfy.org
// keys (DESIGN §6); history shows only the client id.
func TestHistoryHidesExtraData(t *testing.T) {
	t.Parallel()
	for _, path := range []string{"/flask/api/history", "/flask/api/history/job-failed"} {
		rec, _ := serveCase(t, routeCase{path: path})
		if body := rec.Body.String(); rec.Code != 200 || strings.Contains(body, "secret") || !strings.Contains(body, `{"client_id":"my-api-1"}`) {
			t.Errorf("GET %s = %d %s", path, rec.Code, body)
		}
	}
}
