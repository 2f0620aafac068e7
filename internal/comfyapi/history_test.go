package comfyapi

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/comfygate/comfygate/internal/job"
)

// storeJob submits a job with prompt_id (and job id) id through the use
// cases, then moves it to state st as the fleet would; mods change the
// stored record last.
func storeJob(tb testing.TB, h *Handler, id string, st job.State, mods ...func(*job.Job)) *job.Job {
	tb.Helper()
	ctx := context.Background()
	graph := json.RawMessage(`{"1":{"class_type":"EmptyImage","inputs":{"width":8,"height":8,"batch_size":1,"color":0}},` +
		`"2":{"class_type":"PreviewImage","inputs":{"images":["1",0]}}}`)
	if _, err := h.gw.Submit(ctx, job.Submission{Source: job.SourceComfy, PromptID: id, Number: "1", Prompt: graph}); err != nil {
		tb.Fatal(err)
	}
	path := map[job.State][]job.State{
		job.StateSucceeded: {job.StateDispatched, job.StateRunning, job.StateSucceeded},
		job.StateFailed:    {job.StateDispatched, job.StateFailed},
		job.StateCancelled: {job.StateCancelled},
	}[st]
	for _, next := range path {
		if _, err := h.store.UpdateJob(ctx, id, func(j *job.Job) error { return j.TransitionTo(next, time.Now()) }); err != nil {
			tb.Fatal(err)
		}
	}
	out, err := h.store.UpdateJob(ctx, id, func(j *job.Job) error {
		for _, m := range mods {
			m(j)
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

func historyKeys(tb testing.TB, h *Handler, query string) []string {
	tb.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/history"+query, nil))
	if rec.Code != http.StatusOK {
		tb.Fatalf("GET /history%s: %d %s", query, rec.Code, rec.Body)
	}
	dec := json.NewDecoder(strings.NewReader(rec.Body.String()))
	var keys []string
	if _, err := dec.Token(); err != nil {
		tb.Fatal(err)
	}
	for dec.More() {
		k, _ := dec.Token()
		keys = append(keys, k.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			tb.Fatal(err)
		}
	}
	return keys
}

func TestHistoryPaging(t *testing.T) {
	h, _ := newIdleHandler(t)
	ids := []string{"00000000-0000-4000-8000-000000000001", "00000000-0000-4000-8000-000000000002",
		"00000000-0000-4000-8000-000000000003", "00000000-0000-4000-8000-000000000004"}
	storeJob(t, h, ids[0], job.StateSucceeded)
	storeJob(t, h, ids[1], job.StateFailed)
	storeJob(t, h, "00000000-0000-4000-8000-00000000000a", job.StateCancelled) // deleted while queued: no entry
	storeJob(t, h, ids[2], job.StateSucceeded)
	storeJob(t, h, "00000000-0000-4000-8000-00000000000b", job.StateSucceeded, func(j *job.Job) { j.Comfy = job.ComfyMeta{Hidden: true}.Raw() })
	storeJob(t, h, ids[3], job.StateSucceeded)
	storeJob(t, h, "00000000-0000-4000-8000-00000000000c", job.StateQueued) // not finished
	tests := []struct {
		query string
		want  []string
	}{
		{"", ids},
		{"?max_items=2", ids[2:]},
		{"?offset=1", ids[1:]},
		{"?offset=1&max_items=2", ids[1:3]},
		{"?offset=10", nil},
		{"?max_items=0", nil},
		{"?offset=0&max_items=0", ids[:1]}, // ComfyUI's check comes after the first entry
		{"?max_items=+2", ids[2:]},         // int() takes a sign
	}
	for _, tt := range tests {
		if d := cmp.Diff(tt.want, historyKeys(t, h, tt.query)); d != "" {
			t.Errorf("/history%s (-want +got):\n%s", tt.query, d)
		}
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/history?max_items=two", nil))
	if rec.Code != http.StatusInternalServerError {
		t.Errorf("non-integer max_items: %d, want 500", rec.Code)
	}
}

func TestHistoryDelete(t *testing.T) {
	h, s := newIdleHandler(t)
	a, b := "00000000-0000-4000-8000-000000000001", "00000000-0000-4000-8000-000000000002"
	storeJob(t, h, a, job.StateSucceeded)
	storeJob(t, h, b, job.StateSucceeded)
	post := func(body string) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/history", strings.NewReader(body)))
		if rec.Code != http.StatusOK || rec.Body.Len() != 0 {
			t.Fatalf("POST /history %s: %d %s", body, rec.Code, rec.Body)
		}
	}
	post(`{"delete": ["` + a + `", "no-such-id"]}`)
	if d := cmp.Diff([]string{b}, historyKeys(t, h, "")); d != "" {
		t.Errorf("after delete (-want +got):\n%s", d)
	}
	post(`{"clear": true}`)
	if got := historyKeys(t, h, ""); len(got) != 0 {
		t.Errorf("after clear: %v", got)
	}
	if j, err := s.GetJob(context.Background(), a); err != nil || j.State != job.StateSucceeded {
		t.Errorf("the job itself is kept for /v1/jobs: %v, %v", j, err)
	}
}
