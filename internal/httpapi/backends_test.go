package httpapi_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/comfygate/comfygate/api"
	"github.com/comfygate/comfygate/internal/gateway"
	"github.com/comfygate/comfygate/internal/httpapi"
	"github.com/comfygate/comfygate/internal/httpapi/httpapitest"
)

// adminCall is one admin call the service received.
type adminCall struct{ Op, Arg string }

// adminService answers the backend admin calls for backend "gpu1" and
// records them; other ids are unknown.
func adminService() (*httpapitest.Service, func() []adminCall) {
	var (
		mu    sync.Mutex // guards calls
		calls []adminCall
	)
	record := func(op, arg string) {
		mu.Lock()
		calls = append(calls, adminCall{op, arg})
		mu.Unlock()
	}
	known := func(op, id, state string) (api.Backend, error) {
		record(op, id)
		if id != "gpu1" {
			return api.Backend{}, fmt.Errorf("backend %q: %w", id, gateway.ErrNotFound)
		}
		return api.Backend{ID: id, URL: "http://10.0.0.8:8188", State: state, Running: []string{}, Prefetch: []string{}}, nil
	}
	svc := &httpapitest.Service{
		AddBackendFunc: func(_ context.Context, req api.AddBackendRequest) (api.Backend, error) {
			record("add", strings.TrimSuffix(fmt.Sprintf("%s %s %d %s", req.ID, req.URL, req.MaxInflight, req.OutputDir), " "))
			switch {
			case req.ID == "gpu1":
				return api.Backend{}, &gateway.ConflictError{Code: "backend_exists", Message: `backend id "gpu1" is already in use`}
			case strings.HasPrefix(req.URL, "ftp:"):
				return api.Backend{}, &gateway.InputError{Field: "url", Problem: "must start with http:// or https://"}
			case req.ID == "":
				req.ID = "backend-2"
			}
			return api.Backend{ID: req.ID, URL: req.URL, State: "unknown", Running: []string{}, Prefetch: []string{}}, nil
		},
		RemoveBackendFunc: func(_ context.Context, id string) error {
			_, err := known("remove", id, "")
			return err
		},
		DrainBackendFunc:  func(_ context.Context, id string) (api.Backend, error) { return known("drain", id, "draining") },
		ResumeBackendFunc: func(_ context.Context, id string) (api.Backend, error) { return known("resume", id, "healthy") },
		TestBackendFunc: func(_ context.Context, url string) (api.BackendProbe, error) {
			record("test", url)
			if strings.Contains(url, ":1/") || strings.HasSuffix(url, ":1") {
				return api.BackendProbe{}, &gateway.UpstreamError{Message: "not a reachable ComfyUI server: connection refused", Err: errors.New("dial")}
			}
			return api.BackendProbe{URL: url, LatencyMS: 3.5, Version: "0.3.64", NodeCount: 612, VRAMTotal: 8, VRAMFree: 4,
				Devices: []api.Device{{Name: "cuda:0", Type: "cuda", VRAMTotal: 8, VRAMFree: 4}}}, nil
		},
	}
	return svc, func() []adminCall {
		mu.Lock()
		defer mu.Unlock()
		return append([]adminCall(nil), calls...)
	}
}

func TestBackendAdminRoutes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, method, path, body string
		wantStatus               int
		wantBody                 string // a substring of the success body
		wantCode, wantField      string // of an error body
		wantCalls                []adminCall
	}{
		{name: "add named", method: "POST", path: "/v1/backends", body: `{"id":"gpu2","url":"http://10.0.0.9:8188","max_inflight":3}`,
			wantStatus: 201, wantBody: `"id":"gpu2"`, wantCalls: []adminCall{{"add", "gpu2 http://10.0.0.9:8188 3"}}},
		{name: "add on this host", method: "POST", path: "/v1/backends", body: `{"id":"local","url":"http://127.0.0.1:8188","output_dir":"/srv/out"}`,
			wantStatus: 201, wantBody: `"id":"local"`, wantCalls: []adminCall{{"add", "local http://127.0.0.1:8188 0 /srv/out"}}},
		{name: "add unnamed", method: "POST", path: "/v1/backends", body: `{"url":"http://10.0.0.9:8188"}`,
			wantStatus: 201, wantBody: `"id":"backend-2"`, wantCalls: []adminCall{{"add", " http://10.0.0.9:8188 0"}}},
		{name: "add duplicate", method: "POST", path: "/v1/backends", body: `{"id":"gpu1","url":"http://h:2"}`,
			wantStatus: 409, wantCode: "backend_exists", wantCalls: []adminCall{{"add", "gpu1 http://h:2 0"}}},
		{name: "add bad url", method: "POST", path: "/v1/backends", body: `{"url":"ftp://h"}`,
			wantStatus: 400, wantCode: api.CodeInvalidRequest, wantField: "url", wantCalls: []adminCall{{"add", " ftp://h 0"}}},
		{name: "add no url", method: "POST", path: "/v1/backends", body: `{"id":"x"}`,
			wantStatus: 400, wantCode: api.CodeInvalidRequest, wantField: "url"},
		{name: "add unknown field", method: "POST", path: "/v1/backends", body: `{"url":"http://h:2","max_inflite":2}`,
			wantStatus: 400, wantCode: api.CodeInvalidRequest, wantField: "max_inflite"},
		{name: "add wrong type", method: "POST", path: "/v1/backends", body: `{"url":"http://h:2","max_inflight":"2"}`,
			wantStatus: 400, wantCode: api.CodeInvalidRequest, wantField: "max_inflight"},
		{name: "add empty body", method: "POST", path: "/v1/backends",
			wantStatus: 400, wantCode: api.CodeInvalidJSON, wantField: "body"},
		{name: "add huge body", method: "POST", path: "/v1/backends", body: `{"url":"` + strings.Repeat("a", 70<<10) + `"}`,
			wantStatus: 413, wantCode: api.CodeTooLarge, wantField: "body"},
		{name: "remove", method: "DELETE", path: "/v1/backends/gpu1", wantStatus: 204, wantCalls: []adminCall{{"remove", "gpu1"}}},
		{name: "remove unknown", method: "DELETE", path: "/v1/backends/nope", wantStatus: 404, wantCode: api.CodeNotFound,
			wantCalls: []adminCall{{"remove", "nope"}}},
		{name: "remove escaped id", method: "DELETE", path: "/v1/backends/a%2Fb", wantStatus: 404, wantCode: api.CodeNotFound,
			wantCalls: []adminCall{{"remove", "a/b"}}},
		{name: "drain", method: "POST", path: "/v1/backends/gpu1/drain", wantStatus: 200, wantBody: `"state":"draining"`,
			wantCalls: []adminCall{{"drain", "gpu1"}}},
		{name: "drain unknown", method: "POST", path: "/v1/backends/nope/drain", wantStatus: 404, wantCode: api.CodeNotFound,
			wantCalls: []adminCall{{"drain", "nope"}}},
		{name: "resume", method: "POST", path: "/v1/backends/gpu1/resume", wantStatus: 200, wantBody: `"state":"healthy"`,
			wantCalls: []adminCall{{"resume", "gpu1"}}},
		{name: "resume unknown", method: "POST", path: "/v1/backends/nope/resume", wantStatus: 404, wantCode: api.CodeNotFound,
			wantCalls: []adminCall{{"resume", "nope"}}},
		{name: "test", method: "POST", path: "/v1/backends/test", body: `{"url":"http://10.0.0.9:8188"}`,
			wantStatus: 200, wantBody: `"node_count":612`, wantCalls: []adminCall{{"test", "http://10.0.0.9:8188"}}},
		{name: "test unreachable", method: "POST", path: "/v1/backends/test", body: `{"url":"http://127.0.0.1:1"}`,
			wantStatus: 502, wantCode: api.CodeBadGateway, wantCalls: []adminCall{{"test", "http://127.0.0.1:1"}}},
		{name: "test no url", method: "POST", path: "/v1/backends/test", body: `{}`,
			wantStatus: 400, wantCode: api.CodeInvalidRequest, wantField: "url"},
		{name: "get on an action", method: "GET", path: "/v1/backends/gpu1/drain", wantStatus: 405, wantCode: api.CodeMethodNotAllowed},
		{name: "bare POST on an id", method: "POST", path: "/v1/backends/gpu1", wantStatus: 405, wantCode: api.CodeMethodNotAllowed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			svc, calls := adminService()
			_, ts := start(t, svc, httpapi.Config{})
			res := doJSON(t, ts, tt.method, tt.path, tt.body)
			if res.status != tt.wantStatus {
				t.Fatalf("status %d, want %d; body %s", res.status, tt.wantStatus, res.body)
			}
			if tt.wantCode != "" {
				if e := errorOf(t, res); e.Code != tt.wantCode || e.Field != tt.wantField || e.Message == "" {
					t.Errorf("error %+v, want code %q field %q and a message", e, tt.wantCode, tt.wantField)
				}
			} else if !strings.Contains(string(res.body), tt.wantBody) {
				t.Errorf("body %s, want it to contain %s", res.body, tt.wantBody)
			}
			if diff := cmp.Diff(tt.wantCalls, calls()); diff != "" {
				t.Errorf("service calls (-want +got):\n%s", diff)
			}
		})
	}
}

func TestBackendProbeBody(t *testing.T) {
	t.Parallel()
	svc, _ := adminService()
	_, ts := start(t, svc, httpapi.Config{})
	res := doJSON(t, ts, "POST", "/v1/backends/test", `{"url":"http://10.0.0.9:8188"}`)
	want := api.BackendProbe{URL: "http://10.0.0.9:8188", LatencyMS: 3.5, Version: "0.3.64", NodeCount: 612, VRAMTotal: 8, VRAMFree: 4,
		Devices: []api.Device{{Name: "cuda:0", Type: "cuda", VRAMTotal: 8, VRAMFree: 4}}}
	if diff := cmp.Diff(want, decode[api.BackendProbe](t, res)); diff != "" {
		t.Errorf("probe (-want +got):\n%s", diff)
	}
}

// TestBackendAdminKeys: with keys on, only admin keys change the fleet;
// any key still lists it. With no keys everyone is the admin (the
// loopback default).
func TestBackendAdminKeys(t *testing.T) {
	t.Parallel()
	keys := []httpapi.APIKey{
		{ID: "ops", Hash: httpapi.HashKey("ops-key"), Admin: true},
		{ID: "app", Hash: httpapi.HashKey("app-key")},
	}
	routes := []struct{ method, path, body string }{
		{"POST", "/v1/backends", `{"url":"http://10.0.0.9:8188"}`},
		{"POST", "/v1/backends/test", `{"url":"http://10.0.0.9:8188"}`},
		{"DELETE", "/v1/backends/gpu1", ""},
		{"POST", "/v1/backends/gpu1/drain", ""},
		{"POST", "/v1/backends/gpu1/resume", ""},
	}
	tests := []struct {
		name       string
		keys       []httpapi.APIKey
		hdr        []string
		wantStatus int // 0: the route's own success
		wantCode   string
	}{
		{name: "no keys: anyone", wantStatus: 0},
		{name: "admin bearer", keys: keys, hdr: []string{"Authorization", "Bearer ops-key"}, wantStatus: 0},
		{name: "admin x-api-key", keys: keys, hdr: []string{"X-API-Key", "ops-key"}, wantStatus: 0},
		{name: "plain key", keys: keys, hdr: []string{"Authorization", "Bearer app-key"}, wantStatus: 403, wantCode: api.CodeForbidden},
		{name: "no key", keys: keys, wantStatus: 401, wantCode: api.CodeUnauthorized},
		{name: "unknown key", keys: keys, hdr: []string{"Authorization", "Bearer nope"}, wantStatus: 401, wantCode: api.CodeUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			svc, calls := adminService()
			svc.BackendsFunc = func(context.Context) ([]api.Backend, error) { return []api.Backend{}, nil }
			_, ts := start(t, svc, httpapi.Config{APIKeys: tt.keys})
			for _, rt := range routes {
				res := doJSON(t, ts, rt.method, rt.path, rt.body, tt.hdr...)
				want := tt.wantStatus
				if want == 0 {
					want = map[string]int{"POST /v1/backends": 201, "DELETE /v1/backends/gpu1": 204}[rt.method+" "+rt.path]
					want = max(want, http.StatusOK)
				}
				if res.status != want {
					t.Errorf("%s %s: status %d, want %d; body %s", rt.method, rt.path, res.status, want, res.body)
				}
				if tt.wantCode != "" && errorOf(t, res).Code != tt.wantCode {
					t.Errorf("%s %s: code %q, want %q", rt.method, rt.path, errorOf(t, res).Code, tt.wantCode)
				}
			}
			if refused := tt.wantStatus != 0; refused != (len(calls()) == 0) {
				t.Errorf("service calls %v with status %d", calls(), tt.wantStatus)
			}
			// Listing is not a change: any valid key may.
			if res := do(t, ts, "GET", "/v1/backends", nil, tt.hdr...); (res.status == 200) != (tt.wantStatus != 401) {
				t.Errorf("GET /v1/backends: %d", res.status)
			}
		})
	}
}

// TestBackendProbeTimeout: a probe that ran out of time is the backend's
// failure (502 with the reason), not the request's (504).
func TestBackendProbeTimeout(t *testing.T) {
	t.Parallel()
	svc := &httpapitest.Service{TestBackendFunc: func(context.Context, string) (api.BackendProbe, error) {
		return api.BackendProbe{}, &gateway.UpstreamError{Message: "http://h:1 did not answer within 15s", Err: context.DeadlineExceeded}
	}}
	_, ts := start(t, svc, httpapi.Config{})
	res := doJSON(t, ts, "POST", "/v1/backends/test", `{"url":"http://h:1"}`)
	if e := errorOf(t, res); res.status != http.StatusBadGateway || e.Code != api.CodeBadGateway || !strings.Contains(e.Message, "within 15s") {
		t.Fatalf("%d %+v, want 502 bad_gateway with the reason", res.status, e)
	}
}
