package comfyapi

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"
)

// viewRef GETs /view for a file reference from an output or history.
func viewRef(tb testing.TB, base string, ref map[string]any, h http.Header) httpResult {
	tb.Helper()
	q := url.Values{}
	for _, k := range []string{"filename", "subfolder", "type"} {
		if v, ok := ref[k].(string); ok {
			q.Set(k, v)
		}
	}
	return do(tb, http.MethodGet, base+"/view?"+q.Encode(), nil, h)
}

// TestViewOutputWhileRunning: a client that fetches an output as soon as
// "executed" names it (the ComfyUI frontend does) gets it, though the job
// is still running and its outputs are not copied yet; afterwards the same
// name is served from the artifact store.
func TestViewOutputWhileRunning(t *testing.T) {
	e := newEnv(t, envOptions{})
	sock := dialWS(t, e.srv.URL, "?clientId=viewer", nil)
	e.sim.SetClassDelay("ImageBlur", time.Hour) // released below
	graph := map[string]any{
		"1": map[string]any{"class_type": "EmptyImage", "inputs": map[string]any{"width": 12, "height": 10, "batch_size": 1, "color": 255}},
		"2": map[string]any{"class_type": "PreviewImage", "inputs": map[string]any{"images": []any{"1", 0}}},
		"3": map[string]any{"class_type": "ImageBlur", "inputs": map[string]any{"image": []any{"1", 0}, "blur_radius": 1, "sigma": 1.0}},
		"4": map[string]any{"class_type": "SaveImage", "inputs": map[string]any{"images": []any{"3", 0}, "filename_prefix": "live"}},
	}
	id := submit(t, e.srv.URL, map[string]any{"prompt": graph, "client_id": "viewer"}, nil)
	ex := sock.wait("the preview's executed", func(m wsMsg) bool { return m.Type == "executed" && m.Data["node"] == "2" })
	out, _ := ex.Data["output"].(map[string]any)
	imgs, _ := out["images"].([]any)
	if len(imgs) != 1 {
		t.Fatalf("executed output: %v", ex.Data)
	}
	ref := imgs[0].(map[string]any)
	live := viewRef(t, e.srv.URL, ref, nil)
	if live.status != http.StatusOK {
		t.Fatalf("view while running: %d", live.status)
	}
	if w, h := imageSize(t, live.body); w != 12 || h != 10 {
		t.Errorf("live image %dx%d, want 12x10", w, h)
	}
	e.sim.SetClassDelay("ImageBlur", 0)
	sock.wait("end of run", finished(id))
	after := viewRef(t, e.srv.URL, ref, nil)
	if after.status != http.StatusOK || string(after.body) != string(live.body) || after.header.Get("Etag") == "" {
		t.Errorf("view after the run: %d etag %q, want the same bytes from the store", after.status, after.header.Get("Etag"))
	}
}

// TestHistoryReadyAtExecutingNull is ComfyUI's guarantee: once "executing"
// with node null arrives, GET /history/{id} has the whole entry.
func TestHistoryReadyAtExecutingNull(t *testing.T) {
	e := newEnv(t, envOptions{})
	sock := dialWS(t, e.srv.URL, "?clientId=eager", nil)
	var ids []string
	for i := range 5 {
		ids = append(ids, submit(t, e.srv.URL, map[string]any{"prompt": imageGraph(8+i, 8, "eager/x"), "client_id": "eager"}, nil))
	}
	for i, id := range ids {
		sock.wait("end of run", finished(id))
		entry, ok := do(t, http.MethodGet, e.srv.URL+"/history/"+id, nil, nil).json(t)[id].(map[string]any)
		if !ok {
			t.Fatalf("prompt %d: no history right after executing null", i)
		}
		refs := outputImages(t, entry)
		if len(refs) != 1 {
			t.Fatalf("prompt %d: outputs %v", i, entry["outputs"])
		}
		r := viewRef(t, e.srv.URL, refs[0], nil)
		if w, _ := imageSize(t, r.body); w != 8+i {
			t.Errorf("prompt %d: image width %d, want %d", i, w, 8+i)
		}
	}
}

// TestHistorySurvivesRestart: a new surface over the same store shows the
// same history, the same file names, the same images, and numbers new
// prompts after the old ones.
func TestHistorySurvivesRestart(t *testing.T) {
	e := newEnv(t, envOptions{})
	sock := dialWS(t, e.srv.URL, "?clientId=r", nil)
	r := do(t, http.MethodPost, e.srv.URL+"/prompt", mustJSON(t, map[string]any{"prompt": imageGraph(8, 8, "restart"), "client_id": "r"}), nil)
	first := r.json(t)
	id := first["prompt_id"].(string)
	sock.wait("end of run", finished(id))
	before := do(t, http.MethodGet, e.srv.URL+"/history/"+id, nil, nil)

	names := NewNames(e.store)
	gw := newTestGateway(t, e.store, e.arts, e.hub, e.fleet, names)
	h2, err := New(Config{Store: e.store, Artifacts: e.arts, Hub: e.hub, Gateway: gw, Names: names})
	if err != nil {
		t.Fatal(err)
	}
	if err := h2.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	srv2 := httptest.NewServer(h2)
	t.Cleanup(func() { _ = h2.Stop(context.Background()); srv2.Close() })
	after := do(t, http.MethodGet, srv2.URL+"/history/"+id, nil, nil)
	if string(after.body) != string(before.body) {
		t.Errorf("history after a restart:\n%s\nwant\n%s", after.body, before.body)
	}
	ref := outputImages(t, after.json(t)[id].(map[string]any))[0]
	if v := viewRef(t, srv2.URL, ref, nil); v.status != http.StatusOK {
		t.Errorf("/view after a restart: %d", v.status)
	}
	next := do(t, http.MethodPost, srv2.URL+"/prompt", mustJSON(t, map[string]any{"prompt": imageGraph(9, 9, "restart")}), nil).json(t)
	n1, _ := first["number"].(json.Number).Int64()
	n2, _ := next["number"].(json.Number).Int64()
	if n2 <= n1 {
		t.Errorf("number %d after a restart, want more than %d", n2, n1)
	}
}
