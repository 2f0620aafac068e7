package comfyapi

import (
	"context"
	"net/http"
	"testing"
)

// TestHistoryDeleteKeepsFiles: POST /history {"delete": [...]} and
// {"clear": true} remove entries from /history as ComfyUI does, and, as
// ComfyUI leaves its output files in place, the outputs stay on /view and
// the job stays in the store (DELETE /v1/jobs/{id} or retention removes
// both).
func TestHistoryDeleteKeepsFiles(t *testing.T) {
	for _, tc := range []struct {
		name string
		body func(id string) string
	}{
		{"delete", func(id string) string { return `{"delete": ["` + id + `"]}` }},
		{"clear", func(string) string { return `{"clear": true}` }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, envOptions{})
			sock := dialWS(t, e.srv.URL, "?clientId=h", nil)
			id := submit(t, e.srv.URL, map[string]any{"prompt": imageGraph(9, 7, "kept"), "client_id": "h"}, nil)
			sock.wait("end of run", finished(id))
			entry, ok := do(t, http.MethodGet, e.srv.URL+"/history/"+id, nil, nil).json(t)[id].(map[string]any)
			refs := outputImages(t, entry)
			if !ok || len(refs) != 1 {
				t.Fatalf("history entry %v", entry)
			}
			req := tc.body(id)
			if r := do(t, http.MethodPost, e.srv.URL+"/history", []byte(req), nil); r.status != http.StatusOK {
				t.Fatalf("POST /history: %d %s", r.status, r.body)
			}
			if got := do(t, http.MethodGet, e.srv.URL+"/history/"+id, nil, nil).json(t); len(got) != 0 {
				t.Errorf("/history/%s after %s: %v, want {}", id, req, got)
			}
			if r := viewRef(t, e.srv.URL, refs[0], nil); r.status != http.StatusOK {
				t.Errorf("/view of the output after %s: %d, want the file kept", req, r.status)
			} else if w, h := imageSize(t, r.body); w != 9 || h != 7 {
				t.Errorf("image %dx%d, want 9x7", w, h)
			}
			if _, err := e.store.GetJob(context.Background(), id); err != nil {
				t.Errorf("the job after %s: %v, want it kept", req, err)
			}
		})
	}
}
