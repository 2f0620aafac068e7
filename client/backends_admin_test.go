package client_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/comfygate/comfygate/api"
	"github.com/comfygate/comfygate/client"
)

// adminCall is one request the admin routes received.
type adminCall struct{ Method, Path, Body string }

// serveAdmin answers the backend admin routes with canned bodies and
// records each request, so the test sees exactly what the SDK sends.
func serveAdmin(t *testing.T) (*client.Client, func() []adminCall) {
	t.Helper()
	var (
		mu    sync.Mutex // guards calls
		calls []adminCall
	)
	mux := http.NewServeMux()
	backend := func(w http.ResponseWriter, state string) {
		json.NewEncoder(w).Encode(api.Backend{ID: "gpu1", URL: "http://10.0.0.8:8188", State: state})
	}
	mux.HandleFunc("POST /v1/backends", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusCreated)
		backend(w, "down")
	})
	mux.HandleFunc("DELETE /v1/backends/{id}", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("id") != "gpu1" {
			w.WriteHeader(http.StatusNotFound)
			io.WriteString(w, `{"error":{"code":"not_found","message":"no such backend"}}`)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("POST /v1/backends/{id}/drain", func(w http.ResponseWriter, r *http.Request) { backend(w, "draining") })
	mux.HandleFunc("POST /v1/backends/{id}/resume", func(w http.ResponseWriter, r *http.Request) { backend(w, "healthy") })
	mux.HandleFunc("POST /v1/backends/test", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"url":"http://10.0.0.9:8188","latency_ms":3.5,"version":"0.3.64","node_count":612,"vram_total":8,"vram_free":4,"devices":[{"name":"cuda:0","type":"cuda"}]}`)
	})
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		calls = append(calls, adminCall{r.Method, r.URL.EscapedPath(), strings.TrimSpace(string(body))})
		mu.Unlock()
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(ts.Close)
	return newClient(t, ts), func() []adminCall {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(calls)
	}
}

func TestBackendAdmin(t *testing.T) {
	c, recorded := serveAdmin(t)
	ctx := testCtx(t)

	added, err := c.AddBackend(ctx, client.AddBackendRequest{ID: "gpu1", URL: "http://10.0.0.8:8188", MaxInflight: 2})
	if err != nil || added.ID != "gpu1" || added.State != "down" {
		t.Errorf("AddBackend = %+v, %v", added, err)
	}
	if b, err := c.DrainBackend(ctx, "gpu1"); err != nil || b.State != "draining" {
		t.Errorf("DrainBackend = %+v, %v", b, err)
	}
	if b, err := c.ResumeBackend(ctx, "gpu1"); err != nil || b.State != "healthy" {
		t.Errorf("ResumeBackend = %+v, %v", b, err)
	}
	if err := c.RemoveBackend(ctx, "gpu1"); err != nil {
		t.Errorf("RemoveBackend: %v", err)
	}
	if err := c.RemoveBackend(ctx, "a/b"); !client.IsNotFound(err) {
		t.Errorf("RemoveBackend(unknown) = %v, want a 404", err)
	}
	probe, err := c.TestBackend(ctx, "http://10.0.0.9:8188")
	want := client.BackendProbe{URL: "http://10.0.0.9:8188", LatencyMS: 3.5, Version: "0.3.64", NodeCount: 612,
		VRAMTotal: 8, VRAMFree: 4, Devices: []api.Device{{Name: "cuda:0", Type: "cuda"}}}
	if diff := cmp.Diff(want, probe); err != nil || diff != "" {
		t.Errorf("TestBackend: %v (-want +got):\n%s", err, diff)
	}

	wantCalls := []adminCall{
		{"POST", "/v1/backends", `{"id":"gpu1","url":"http://10.0.0.8:8188","max_inflight":2}`},
		{"POST", "/v1/backends/gpu1/drain", ""},
		{"POST", "/v1/backends/gpu1/resume", ""},
		{"DELETE", "/v1/backends/gpu1", ""},
		{"DELETE", "/v1/backends/a%2Fb", ""},
		{"POST", "/v1/backends/test", `{"url":"http://10.0.0.9:8188"}`},
	}
	if diff := cmp.Diff(wantCalls, recorded()); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
}
