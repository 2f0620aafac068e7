package server

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/comfygate/comfygate/api"
	"github.com/comfygate/comfygate/comfy/comfysim"
)

// adminClient sends JSON requests to one server, with an optional key.
type adminClient struct {
	tb   testing.TB
	c    *http.Client
	base string
	key  string
}

// do sends a request and returns the status and body.
func (a adminClient) do(method, path, body string) (int, []byte) {
	a.tb.Helper()
	req, err := http.NewRequest(method, a.base+path, strings.NewReader(body))
	if err != nil {
		a.tb.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if a.key != "" {
		req.Header.Set("Authorization", "Bearer "+a.key)
	}
	resp, err := a.c.Do(req)
	if err != nil {
		a.tb.Fatal(err)
	}
	defer resp.Body.Close()
	var raw json.RawMessage
	_ = json.NewDecoder(resp.Body).Decode(&raw)
	return resp.StatusCode, raw
}

// must sends a request that must answer want, and decodes the body into v.
func (a adminClient) must(want int, method, path, body string, v any) {
	a.tb.Helper()
	code, data := a.do(method, path, body)
	if code != want {
		a.tb.Fatalf("%s %s: %d %s, want %d", method, path, code, data, want)
	}
	if v != nil {
		if err := json.Unmarshal(data, v); err != nil {
			a.tb.Fatalf("%s %s: decode %s: %v", method, path, data, err)
		}
	}
}

func (a adminClient) backends() []api.Backend {
	var list api.BackendList
	a.must(http.StatusOK, "GET", "/v1/backends", "", &list)
	return list.Backends
}

func (a adminClient) waitState(id, state string) {
	a.tb.Helper()
	has := func() bool {
		return slices.ContainsFunc(a.backends(), func(b api.Backend) bool { return b.ID == id && b.State == state })
	}
	if !poll(has) {
		a.tb.Fatalf("backend %s never became %s: %+v", id, state, a.backends())
	}
}

// runJobs submits n small txt2img jobs at once, so that they queue up and
// every backend taking jobs gets some, then waits for their ends and
// returns the backends they ran on.
func (a adminClient) runJobs(n, seed int) []string {
	a.tb.Helper()
	ids := make([]string, n)
	for i := range ids {
		var j api.Job
		a.must(http.StatusCreated, "POST", "/v1/jobs",
			fmt.Sprintf(`{"workflow":"txt2img","params":{"steps":4,"width":64,"height":64,"seed":%d}}`, seed+i), &j)
		ids[i] = j.ID
	}
	var ran []string
	for _, id := range ids {
		var j api.Job
		a.must(http.StatusOK, "GET", "/v1/jobs/"+id+"?wait=60s", "", &j)
		if j.State != api.StateSucceeded {
			a.tb.Fatalf("job %s: %s (%+v)", j.ID, j.State, j.Error)
		}
		ran = append(ran, j.Backend)
	}
	slices.Sort(ran)
	return slices.Compact(ran)
}

// closedURL is a loopback URL where nothing listens.
func closedURL(tb testing.TB) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr
}

// TestBackendAdminEndToEnd: a simulator added at run time takes jobs; a
// drained backend gets none until resumed; a removed one is gone.
func TestBackendAdminEndToEnd(t *testing.T) {
	// Jobs take a little while, so that a burst of them queues up.
	opts := comfysim.Options{StepDelay: 10 * time.Millisecond}
	first, second := comfysim.Start(t, opts), comfysim.Start(t, opts)
	s := startServer(t, Config{Backends: []BackendConfig{{URL: first.URL()}}, Examples: true})
	c := client(t)
	waitReady(t, c, s)
	a := adminClient{tb: t, c: c, base: s.URL()}

	var added api.Backend
	a.must(http.StatusCreated, "POST", "/v1/backends", fmt.Sprintf(`{"url":%q,"max_inflight":1}`, second.URL()), &added)
	if added.ID != "backend-2" || added.URL != second.URL() {
		t.Fatalf("added %+v, want backend-2 at %s", added, second.URL())
	}
	a.waitState("backend-2", "healthy")
	if code, body := a.do("POST", "/v1/backends", fmt.Sprintf(`{"id":"backend-1","url":%q}`, second.URL())); code != http.StatusConflict {
		t.Fatalf("duplicate id: %d %s, want 409", code, body)
	}

	var b api.Backend
	a.must(http.StatusOK, "POST", "/v1/backends/backend-2/drain", "", &b)
	if b.State != "draining" {
		t.Fatalf("after drain: %+v", b)
	}
	if got := a.runJobs(6, 0); !slices.Equal(got, []string{"backend-1"}) {
		t.Fatalf("jobs ran on %v while backend-2 was drained", got)
	}
	a.must(http.StatusOK, "POST", "/v1/backends/backend-2/resume", "", &b)
	a.waitState("backend-2", "healthy")
	// With the first drained, work can only go to the added one.
	a.must(http.StatusOK, "POST", "/v1/backends/backend-1/drain", "", nil)
	if got := a.runJobs(2, 10); !slices.Equal(got, []string{"backend-2"}) {
		t.Fatalf("jobs ran on %v, want only the added backend-2", got)
	}
	a.must(http.StatusOK, "POST", "/v1/backends/backend-1/resume", "", nil)

	a.must(http.StatusNoContent, "DELETE", "/v1/backends/backend-2", "", nil)
	if bs := a.backends(); len(bs) != 1 || bs[0].ID != "backend-1" {
		t.Fatalf("after remove: %+v", bs)
	}
	for _, path := range []string{"/v1/backends/backend-2/drain", "/v1/backends/backend-2/resume"} {
		if code, body := a.do("POST", path, ""); code != http.StatusNotFound {
			t.Errorf("POST %s after remove: %d %s, want 404", path, code, body)
		}
	}
	if code, body := a.do("DELETE", "/v1/backends/backend-2", ""); code != http.StatusNotFound {
		t.Errorf("second remove: %d %s, want 404", code, body)
	}
	if got := a.runJobs(2, 20); !slices.Equal(got, []string{"backend-1"}) {
		t.Fatalf("jobs after remove ran on %v", got)
	}
}

func TestBackendTestEndToEnd(t *testing.T) {
	sim := comfysim.Start(t, comfysim.Options{})
	s := startServer(t, Config{})
	a := adminClient{tb: t, c: client(t), base: s.URL()}

	var p api.BackendProbe
	a.must(http.StatusOK, "POST", "/v1/backends/test", fmt.Sprintf(`{"url":%q}`, sim.URL()), &p)
	if p.URL != sim.URL() || p.Version == "" || p.NodeCount == 0 || len(p.Devices) == 0 || p.LatencyMS <= 0 {
		t.Errorf("probe %+v: want url, version, node count, devices and latency", p)
	}
	var e api.ErrorResponse
	a.must(http.StatusBadGateway, "POST", "/v1/backends/test", fmt.Sprintf(`{"url":%q}`, closedURL(t)), &e)
	if e.Error.Code != api.CodeBadGateway || !strings.Contains(e.Error.Message, "refused") {
		t.Errorf("unreachable: %+v, want bad_gateway saying the connection was refused", e.Error)
	}
	a.must(http.StatusBadRequest, "POST", "/v1/backends/test", `{"url":"localhost:8188"}`, &e)
	if e.Error.Field != "url" {
		t.Errorf("bad url: %+v, want field url", e.Error)
	}
	if len(a.backends()) != 0 {
		t.Errorf("testing a backend added it: %+v", a.backends())
	}
}

// TestBackendAdminKeys: with keys, only a key parsed with ":admin" may
// change the fleet; others may still list it.
func TestBackendAdminKeys(t *testing.T) {
	cfg := Config{}
	for _, spec := range []string{"app:app-key-0123456789", "ops:ops-key-0123456789:admin"} {
		k, err := ParseAPIKey(spec)
		if err != nil {
			t.Fatal(err)
		}
		cfg.APIKeys = append(cfg.APIKeys, k)
	}
	s := startServer(t, cfg)
	c := client(t)
	app := adminClient{tb: t, c: c, base: s.URL(), key: "app-key-0123456789"}
	ops := adminClient{tb: t, c: c, base: s.URL(), key: "ops-key-0123456789"}
	body := fmt.Sprintf(`{"id":"x","url":%q}`, closedURL(t))

	if code, data := app.do("POST", "/v1/backends", body); code != http.StatusForbidden {
		t.Fatalf("add with a plain key: %d %s, want 403", code, data)
	}
	if code, data := (adminClient{tb: t, c: c, base: s.URL()}).do("POST", "/v1/backends", body); code != http.StatusUnauthorized {
		t.Fatalf("add without a key: %d %s, want 401", code, data)
	}
	ops.must(http.StatusCreated, "POST", "/v1/backends", body, nil)
	if bs := app.backends(); len(bs) != 1 || bs[0].ID != "x" {
		t.Fatalf("plain key lists %+v, want backend x", bs)
	}
	if code, _ := app.do("DELETE", "/v1/backends/x", ""); code != http.StatusForbidden {
		t.Fatalf("remove with a plain key: %d, want 403", code)
	}
	ops.must(http.StatusNoContent, "DELETE", "/v1/backends/x", "", nil)
}
