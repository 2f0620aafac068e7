package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/comfygate/comfygate/api"
	"github.com/comfygate/comfygate/internal/httpapi/httpapitest"
)

func sampleBackends() []api.Backend {
	return []api.Backend{
		{ID: "gpu0", URL: "http://10.0.0.7:8188", State: "healthy", Running: []string{"j1"}, Prefetch: []string{"j2"}, Done: 1204, Failed: 3, LatencyMS: 2.41, Version: "0.3.64"},
		{ID: "gpu1", URL: "http://10.0.0.8:8188", State: "draining", Done: 17, LatencyMS: 11},
		{ID: "laptop", URL: "http://192.168.1.20:8188", State: "down", LastError: "connection refused"},
	}
}

func TestBackendsList(t *testing.T) {
	url := startFakeAPI(t, &httpapitest.Service{
		BackendsFunc: func(context.Context) ([]api.Backend, error) { return sampleBackends(), nil },
	})
	checkGolden(t, "backends_list.txt", mustCLI(t, "backends", "--server", url).stdout)
	checkGolden(t, "backends_list.json", mustCLI(t, "backends", "list", "--json", "--server", url).stdout)
}

// adminRequest is one call the fake admin API received.
type adminRequest struct {
	Method, Path, Body, Auth string
}

// fakeAdmin serves the backend admin routes the SDK expects and records what
// it is asked, so the CLI's requests can be checked exactly; the real routes
// are exercised in backends_e2e_test.go.
type fakeAdmin struct {
	mu   sync.Mutex // guards got
	got  []adminRequest
	mux  *http.ServeMux
	base string
}

func startFakeAdmin(t *testing.T) *fakeAdmin {
	t.Helper()
	f := &fakeAdmin{mux: http.NewServeMux()}
	gpu := sampleBackends()[1]
	f.mux.HandleFunc("POST /v1/backends", func(w http.ResponseWriter, r *http.Request) {
		var req struct{ ID, URL string }
		json.NewDecoder(strings.NewReader(f.last().Body)).Decode(&req)
		if req.ID == "" {
			req.ID = "b-3"
		}
		w.WriteHeader(http.StatusCreated)
		json.NewEncoder(w).Encode(api.Backend{ID: req.ID, URL: req.URL, State: "down"})
	})
	f.mux.HandleFunc("DELETE /v1/backends/{id}", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("id") != gpu.ID {
			http.Error(w, `{"error":{"code":"not_found","message":"no backend `+r.PathValue("id")+`"}}`, http.StatusNotFound)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	f.mux.HandleFunc("POST /v1/backends/{id}/drain", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(gpu)
	})
	f.mux.HandleFunc("POST /v1/backends/{id}/resume", func(w http.ResponseWriter, r *http.Request) {
		b := gpu
		b.State = "healthy"
		json.NewEncoder(w).Encode(b)
	})
	f.mux.HandleFunc("POST /v1/backends/test", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"url":"http://10.0.0.9:8188","latency_ms":3.2,"version":"0.3.64","node_count":612,`+
			`"vram_total":25769803776,"vram_free":21474836480,"devices":[{"name":"cuda:0 NVIDIA RTX 4090","type":"cuda"}]}`)
	})
	ts := httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(ts.Close)
	f.base = ts.URL
	return f
}

func (f *fakeAdmin) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	f.got = append(f.got, adminRequest{Method: r.Method, Path: r.URL.EscapedPath(), Body: strings.TrimSpace(string(body)), Auth: r.Header.Get("Authorization")})
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	f.mux.ServeHTTP(w, r)
}

func (f *fakeAdmin) last() adminRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.got[len(f.got)-1]
}

func TestBackendsAdmin(t *testing.T) {
	f := startFakeAdmin(t)
	for _, tc := range []struct {
		name   string
		args   []string
		want   adminRequest
		stdout string
	}{
		{"add", []string{"add", "http://10.0.0.9:8188", "--id", "gpu2"},
			adminRequest{"POST", "/v1/backends", `{"id":"gpu2","url":"http://10.0.0.9:8188"}`, "Bearer s3cret"},
			"added backend gpu2 (http://10.0.0.9:8188): down\n"},
		{"add with server-chosen id", []string{"add", "http://10.0.0.9:8188", "--max-inflight", "3"},
			adminRequest{"POST", "/v1/backends", `{"url":"http://10.0.0.9:8188","max_inflight":3}`, "Bearer s3cret"},
			"added backend b-3 (http://10.0.0.9:8188): down\n"},
		{"add on the gateway's host", []string{"add", "http://127.0.0.1:8188", "--output-dir", "/srv/comfyui/output"},
			adminRequest{"POST", "/v1/backends", `{"url":"http://127.0.0.1:8188","output_dir":"/srv/comfyui/output"}`, "Bearer s3cret"}, ""},
		{"drain", []string{"drain", "gpu1"}, adminRequest{"POST", "/v1/backends/gpu1/drain", "", "Bearer s3cret"},
			"draining backend gpu1 (http://10.0.0.8:8188): draining\n"},
		{"resume", []string{"resume", "gpu1"}, adminRequest{"POST", "/v1/backends/gpu1/resume", "", "Bearer s3cret"},
			"resumed backend gpu1 (http://10.0.0.8:8188): healthy\n"},
		{"remove", []string{"remove", "gpu1"}, adminRequest{"DELETE", "/v1/backends/gpu1", "", "Bearer s3cret"},
			"removed backend gpu1\n"},
		{"escaped id", []string{"remove", "a/b"}, adminRequest{"DELETE", "/v1/backends/a%2Fb", "", "Bearer s3cret"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runCLI(t, append([]string{"backends", "--server", f.base, "--key", "s3cret"}, tc.args...)...)
			if diff := cmp.Diff(tc.want, f.last()); diff != "" {
				t.Errorf("request (-want +got):\n%s", diff)
			}
			if tc.stdout != "" && (r.err != nil || r.stdout != tc.stdout) {
				t.Errorf("stdout %q, err %v; want %q", r.stdout, r.err, tc.stdout)
			}
		})
	}
	t.Run("remove unknown", func(t *testing.T) {
		r := runCLI(t, "backends", "remove", "nope", "--server", f.base)
		if r.err == nil || !strings.Contains(r.err.Error(), "404 not_found: no backend nope") {
			t.Fatalf("err = %v, want the server's 404", r.err)
		}
	})
	t.Run("test", func(t *testing.T) {
		r := mustCLI(t, "backends", "test", "http://10.0.0.9:8188", "--server", f.base)
		if diff := cmp.Diff(adminRequest{"POST", "/v1/backends/test", `{"url":"http://10.0.0.9:8188"}`, ""}, f.last()); diff != "" {
			t.Errorf("request (-want +got):\n%s", diff)
		}
		checkGolden(t, "backends_test.txt", r.stdout)
	})
}
