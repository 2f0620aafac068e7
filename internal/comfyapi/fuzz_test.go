package comfyapi

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/comfygate/comfygate/internal/artifact"
	"github.com/comfygate/comfygate/internal/events"
	"github.com/comfygate/comfygate/internal/store/sqlite"
	"github.com/comfygate/comfygate/workflow"
	"github.com/comfygate/comfygate/workflow/corenodes"
)

// newIdleHandler is a started Handler over a real store with the core
// node catalog and no backend.
func newIdleHandler(tb testing.TB, mods ...func(*Config)) (*Handler, *sqlite.Store) {
	tb.Helper()
	dir := tb.TempDir()
	store, err := sqlite.Open(context.Background(), sqlite.Config{Path: filepath.Join(dir, "db"), Synchronous: "NORMAL", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		tb.Fatal(err)
	}
	arts, err := artifact.NewLocal(filepath.Join(dir, "arts"), artifact.LocalOptions{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { arts.Close() })
	cat, err := corenodes.Catalog(corenodes.DefaultModels())
	if err != nil {
		tb.Fatal(err)
	}
	hub := events.NewHub(events.Options{})
	names := NewNames(store)
	gw := newTestGateway(tb, store, arts, hub, catalogFleet{cat}, names)
	cfg := Config{Store: store, Artifacts: arts, Hub: hub, Gateway: gw, Names: names}
	for _, m := range mods {
		m(&cfg)
	}
	h, err := New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	if err := h.Start(context.Background()); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		_ = h.Stop(context.Background())
		hub.Close()
		_ = store.Close()
	})
	return h, store
}

// FuzzPostPrompt feeds untrusted bodies to POST /prompt: it never panics,
// answers only as ComfyUI does (200 with a stored prompt, 400 with
// {error, node_errors}, or the plain-text 500), and stores exactly the
// prompts it accepted.
func FuzzPostPrompt(f *testing.F) {
	seeds := []string{
		`{"prompt": {"1": {"class_type": "EmptyImage", "inputs": {"width": 8, "height": 8, "batch_size": 1, "color": 0}}, "2": {"class_type": "SaveImage", "inputs": {"images": ["1", 0], "filename_prefix": "x"}}}, "client_id": "c"}`,
		`{"prompt": {"1": {"class_type": "Nope"}}}`, `{"prompt": []}`, `{"prompt": null}`, `[]`, `{`, ``, `{"number": "x", "prompt": {}}`,
		`{"prompt": {"1": "EmptyImage"}, "front": true}`, `{"prompt": {}, "number": 7.5}`, `{"prompt": {}, "number": 1e999}`,
		`{"prompt": {"9": {"class_type": "SaveImage", "inputs": {"images": [1, 0]}}}, "prompt_id": null, "extra_data": 3, "client_id": "x"}`,
		`{"prompt": {"1": {"class_type": "LoadImage", "inputs": {"image": "../../etc/passwd"}}, "2": {"class_type": "PreviewImage", "inputs": {"images": ["1", 0]}}}}`,
		`{"prompt": {"1": {"class_type": "EmptyImage", "inputs": {"width": 8, "height": 8, "batch_size": 1, "color": 0}}, "2": {"class_type": "SaveImage", "inputs": {"images": ["1", 0], "filename_prefix": "x"}}}, "prompt_id": "same", "partial_execution_targets": ["2"]}`,
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	h, store := newIdleHandler(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodPost, "/prompt", bytes.NewReader(body))
		h.ServeHTTP(rec, req)
		switch rec.Code {
		case http.StatusOK:
			var resp struct {
				PromptID string `json:"prompt_id"`
			}
			if json.Unmarshal(rec.Body.Bytes(), &resp) != nil || resp.PromptID == "" {
				t.Fatalf("200 without a prompt_id: %s", rec.Body)
			}
			if _, _, err := h.findJob(t.Context(), "", resp.PromptID); err != nil {
				t.Fatalf("accepted prompt %q is not stored: %v", resp.PromptID, err)
			}
		case http.StatusBadRequest:
			var resp struct {
				Error      map[string]any  `json:"error"`
				NodeErrors json.RawMessage `json:"node_errors"`
			}
			if json.Unmarshal(rec.Body.Bytes(), &resp) != nil || resp.Error["type"] == nil || resp.NodeErrors == nil {
				t.Fatalf("400 is not ComfyUI's {error, node_errors}: %s", rec.Body)
			}
		case http.StatusInternalServerError:
			if rec.Body.String() != workflow.InternalErrorBody {
				t.Fatalf("500 body %q", rec.Body)
			}
		default:
			t.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
	})
	_ = store
}
