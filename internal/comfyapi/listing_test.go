package comfyapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/comfygate/comfygate/comfy"
	"github.com/comfygate/comfygate/internal/gateway"
	"github.com/comfygate/comfygate/internal/job"
)

// serveIdle sends one request to a handler with no backend (its jobs stay
// queued).
func serveIdle(tb testing.TB, h *Handler, method, path string, body []byte) *httptest.ResponseRecorder {
	tb.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, path, bytes.NewReader(body)))
	return rec
}

// bigPrompt is a valid prompt whose SaveImage prefix carries pad bytes.
func bigPrompt(pad int, front bool) []byte {
	prefix := strings.Repeat("p", pad)
	return []byte(fmt.Sprintf(`{"prompt": {"1": {"class_type": "EmptyImage", "inputs": {"width": 8, "height": 8, "batch_size": 1, "color": 0}},
		"2": {"class_type": "SaveImage", "inputs": {"images": ["1", 0], "filename_prefix": %q}}}, "front": %v}`, prefix, front))
}

// TestQueueListsInPages: a backlog larger than one page of the walk, and
// an answer larger than the buffer, come out whole and in run order
// (front-of-queue prompts first), the large one streamed.
func TestQueueListsInPages(t *testing.T) {
	h, _ := newIdleHandler(t)
	var want []string
	var front []string
	for i := range 70 {
		isFront := i%10 == 9
		rec := serveIdle(t, h, http.MethodPost, "/prompt", bigPrompt(8<<10, isFront))
		if rec.Code != http.StatusOK {
			t.Fatalf("prompt %d: %d %s", i, rec.Code, rec.Body)
		}
		var resp comfy.PromptResponse
		_ = json.Unmarshal(rec.Body.Bytes(), &resp)
		if isFront {
			front = append(front, resp.PromptID)
		} else {
			want = append(want, resp.PromptID)
		}
	}
	// front: true runs before the others, in the order they came.
	order := append(front, want...)
	rec := serveIdle(t, h, http.MethodGet, "/queue", nil)
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Length") != "" {
		t.Fatalf("%d, Content-Length %q: want 200, streamed (the answer is %d bytes)", rec.Code, rec.Header().Get("Content-Length"), rec.Body.Len())
	}
	var q comfy.QueueStatus
	if err := json.Unmarshal(rec.Body.Bytes(), &q); err != nil {
		t.Fatalf("not JSON: %v", err)
	}
	var got []string
	for _, it := range q.Pending {
		got = append(got, it.PromptID)
	}
	if strings.Join(got, ",") != strings.Join(order, ",") {
		t.Errorf("pending order:\n got %v\nwant %v", got, order)
	}
	small, _ := newIdleHandler(t)
	serveIdle(t, small, http.MethodPost, "/prompt", bigPrompt(10, false))
	if rec := serveIdle(t, small, http.MethodGet, "/queue", nil); rec.Header().Get("Content-Length") == "" {
		t.Error("a small queue went out without its length")
	}
}

// TestWalkIsLean: a listing walks the jobs without their large parts, in
// pages that grow to the store's largest for small records; /queue then
// loads each job whole, one at a time.
func TestWalkIsLean(t *testing.T) {
	h, store := newIdleHandler(t)
	var filters []job.JobFilter
	h.store = listSpy{Store: store, filters: &filters}
	for range 150 {
		serveIdle(t, h, http.MethodPost, "/prompt", bigPrompt(64<<10, false))
	}
	rec := serveIdle(t, h, http.MethodGet, "/queue", nil)
	var q comfy.QueueStatus
	if err := json.Unmarshal(rec.Body.Bytes(), &q); err != nil || len(q.Pending) != 150 {
		t.Fatalf("%d pending, %v", len(q.Pending), err)
	}
	if len(filters) != 2 || filters[0].Limit != firstPage || filters[1].Limit != job.MaxListLimit {
		t.Fatalf("pages %+v: want %d, then %d jobs", filters, firstPage, job.MaxListLimit)
	}
	for _, f := range filters {
		if !f.Lean {
			t.Errorf("a page of whole jobs: %+v", f)
		}
	}
	prompt := q.Pending[0].Prompt
	if !strings.Contains(string(prompt), strings.Repeat("p", 64<<10)) {
		t.Error("the listed prompt is not the job's whole prompt")
	}
}

// listSpy records the pages asked of the store.
type listSpy struct {
	Store
	filters *[]job.JobFilter
}

func (s listSpy) ListJobs(ctx context.Context, f job.JobFilter) ([]*job.Job, string, error) {
	*s.filters = append(*s.filters, f)
	return s.Store.ListJobs(ctx, f)
}

// TestDeleteLists: a delete string counts its distinct characters, not
// its length; a list past maxDeleteIDs is refused with a 400 naming it;
// unhashable ids still raise in POST /history.
func TestDeleteLists(t *testing.T) {
	h, _ := newIdleHandler(t)
	spy := &cancelSpy{Gateway: h.gw}
	h.gw = spy
	rec := serveIdle(t, h, http.MethodPost, "/prompt", []byte(`{"prompt_id": "a", "prompt": {"1": {"class_type": "EmptyImage", "inputs": {"width": 8, "height": 8, "batch_size": 1, "color": 0}}, "2": {"class_type": "SaveImage", "inputs": {"images": ["1", 0], "filename_prefix": "x"}}}}`))
	if rec.Code != http.StatusOK {
		t.Fatalf("prompt: %d %s", rec.Code, rec.Body)
	}
	megabyte := []byte(`{"delete": "` + strings.Repeat("a", 1<<20) + `"}`)
	tooMany := make([]string, maxDeleteIDs+1)
	for i := range tooMany {
		tooMany[i] = fmt.Sprintf("%q", fmt.Sprint(i))
	}
	tests := []struct {
		name, path string
		body       []byte
		status     int
		mention    string
	}{
		{"a megabyte of one letter", "/history", megabyte, 200, ""},
		{"a megabyte of one letter deletes prompt a from the queue", "/queue", megabyte, 200, ""},
		{"too many ids", "/queue", []byte(`{"delete": [` + strings.Join(tooMany, ",") + `]}`), 400, "at most 10000"},
		{"repeats count once", "/history", []byte(`{"delete": [` + strings.Repeat(`"x",`, maxDeleteIDs+5) + `"x"]}`), 200, ""},
		{"unhashable in /history", "/history", []byte(`{"delete": [["x"]]}`), 500, ""},
		{"unhashable in /queue matches nothing", "/queue", []byte(`{"delete": [["x"]]}`), 200, ""},
		{"not iterable", "/history", []byte(`{"delete": 5}`), 500, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := serveIdle(t, h, http.MethodPost, tt.path, tt.body)
			if rec.Code != tt.status || !strings.Contains(rec.Body.String(), tt.mention) {
				t.Fatalf("%d %q, want %d mentioning %q", rec.Code, rec.Body, tt.status, tt.mention)
			}
		})
	}
	if len(spy.ids) != 1 {
		t.Errorf("cancelled %d times (%v), want once: the job of prompt \"a\", once for the whole string", len(spy.ids), spy.ids)
	}
}

// cancelSpy records the jobs the surface cancels.
type cancelSpy struct {
	Gateway
	ids []string
}

func (s *cancelSpy) CancelJob(ctx context.Context, owner, id string) (gateway.JobStatus, error) {
	s.ids = append(s.ids, id)
	return s.Gateway.CancelJob(ctx, owner, id)
}
