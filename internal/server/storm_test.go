package server

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/comfygate/comfygate/api"
	"github.com/comfygate/comfygate/comfy/comfysim"
	"github.com/comfygate/comfygate/internal/httpapi"
)

// surface names who answers a path.
type surface string

const (
	surfaceREST  surface = "rest"
	surfaceComfy surface = "comfy"
	surfaceFlask surface = "flask"
)

func surfaceOf(path string) surface {
	p, _, _ := strings.Cut(path, "?")
	switch {
	case strings.HasPrefix(p, "/v1/") || p == "/healthz" || p == "/readyz" || p == "/openapi.json" || p == "/metrics":
		return surfaceREST
	case strings.HasPrefix(p, "/flask/"), strings.HasPrefix(p, "/api/workflow"), strings.HasPrefix(p, "/api/task_status"),
		strings.HasPrefix(p, "/api/image/"), p == "/api/test_comfy":
		return surfaceFlask
	}
	return surfaceComfy
}

// stormRequest is one hostile request. allow names the comfyUI500 or
// httpServer5xx row under which a 5xx is ComfyUI's (or HTTP's) own answer.
type stormRequest struct {
	family       string
	method, path string
	header       http.Header
	body         []byte
	raw          []byte // sent as is over a fresh connection, instead of the above
	eof          bool   // after raw, the client closes its side of the connection
	allow        string
}

// stormKeys are the two key kinds the storm alternates.
var stormKeys = []struct{ name, id, secret string }{
	{"user", "alice", "alice-key-0123456789abcdef"},
	{"admin", "root", "root-key-0123456789abcdef"},
}

// TestStorm sends some thousands of malformed and hostile requests to every
// surface, with a user key and an admin key, against a gateway and two
// simulators on loopback. Nothing may panic; REST and Flask answer no 5xx;
// the ComfyUI surface answers 500 only where ComfyUI does (comfyUI500);
// every backend is alive after, and a normal job succeeds.
func TestStorm(t *testing.T) {
	logs := &logBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
	var keys []httpapi.APIKey
	for _, k := range stormKeys {
		s := k.id + ":" + k.secret
		if k.name == "admin" {
			s += ":admin"
		}
		key, err := ParseAPIKey(s)
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, key)
	}
	s := startServer(t, Config{SimBackends: 2, Examples: true, APIKeys: keys, Logger: log,
		Sim:    comfysim.Options{Logger: log},
		Limits: RequestLimits{BodyTimeout: 5 * time.Second}})
	c := client(t)
	c.Timeout = testTimeout
	waitStormReady(t, c, s.URL())
	fx := stormFixtures(t, c, s.URL())

	reqs := stormRequests(t, fx)
	start := time.Now()
	counts := runStorm(t, c, s.URL(), reqs)
	t.Logf("storm: %d requests in %s", len(reqs), time.Since(start).Round(time.Millisecond))
	for _, k := range slices.Sorted(maps.Keys(counts)) {
		t.Logf("  %-34s %d", k, counts[k])
	}

	if strings.Contains(strings.ToLower(logs.String()), "panic") {
		t.Errorf("a panic was logged:\n%s", logs.String())
	}
	checkBackendsAlive(t, c, s.URL())
	checkNormalJob(t, c, s.URL())
}

// authed adds a key kind's bearer token.
func authed(h http.Header, key int) http.Header {
	h = h.Clone()
	if h == nil {
		h = http.Header{}
	}
	h.Set("Authorization", "Bearer "+stormKeys[key].secret)
	return h
}

func waitStormReady(tb testing.TB, c *http.Client, base string) {
	tb.Helper()
	ok := poll(func() bool {
		code, body := doStorm(tb, c, base, http.MethodGet, "/v1/backends", authed(nil, 1), nil)
		return code == http.StatusOK && strings.Count(string(body), `"state":"healthy"`) == 2
	})
	if !ok {
		tb.Fatal("the backends never became healthy")
	}
}

// doStorm sends one request and reads the whole answer.
func doStorm(tb testing.TB, c *http.Client, base, method, path string, h http.Header, body []byte) (int, []byte) {
	tb.Helper()
	req, err := http.NewRequest(method, base+path, bytes.NewReader(body))
	if err != nil {
		return -1, []byte(err.Error())
	}
	if body == nil {
		req.Body = http.NoBody
	}
	req.Header = h.Clone()
	resp, err := c.Do(req)
	if err != nil {
		return 0, []byte(err.Error())
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, []byte(err.Error())
	}
	return resp.StatusCode, data
}

// doRaw writes a request as is on a new connection and reads the answer;
// with eof, it then closes its side of the connection (a body cut short
// is seen at once, not when the body deadline passes).
func doRaw(addr string, raw []byte, eof bool) (int, []byte) {
	conn, err := net.DialTimeout("tcp", addr, testTimeout)
	if err != nil {
		return 0, []byte(err.Error())
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(testTimeout))
	go func() { // the server may answer before reading it all
		if _, err := conn.Write(raw); err == nil && eof {
			_ = conn.(*net.TCPConn).CloseWrite()
		}
	}()
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return 0, []byte(err.Error())
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, data
}

// runStorm sends the requests from a few workers and checks each answer.
func runStorm(t *testing.T, c *http.Client, base string, reqs []stormRequest) map[string]int {
	addr := strings.TrimPrefix(base, "http://")
	var mu sync.Mutex
	counts := map[string]int{}
	next := make(chan stormRequest)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for r := range next {
				var code int
				var body []byte
				if r.raw != nil {
					code, body = doRaw(addr, r.raw, r.eof)
				} else {
					code, body = doStorm(t, c, base, r.method, r.path, r.header, r.body)
				}
				if msg := judge(r, code, body); msg != "" {
					sent := r.body
					if r.raw != nil {
						sent = r.raw
					}
					t.Errorf("%s: %s %s: %s\n\tsent %q", r.family, r.method, truncate(r.path, 120), msg, truncate(string(sent), 160))
				}
				mu.Lock()
				counts[outcome(r, code)]++
				counts["family "+r.family]++
				mu.Unlock()
			}
		})
	}
	for _, r := range reqs {
		next <- r
	}
	close(next)
	wg.Wait()
	return counts
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// checkBackendsAlive: both simulators are healthy in the fleet (a health
// probe that timed out while the storm loaded the machine may have marked
// one degraded for a while: it is given until testTimeout to come back)
// and answer themselves.
func checkBackendsAlive(t *testing.T, c *http.Client, base string) {
	t.Helper()
	var list api.BackendList
	healthy := func() bool {
		code, body := doStorm(t, c, base, http.MethodGet, "/v1/backends", authed(nil, 1), nil)
		list = api.BackendList{}
		if code != http.StatusOK || json.Unmarshal(body, &list) != nil {
			t.Fatalf("GET /v1/backends: %d %s", code, body)
		}
		return len(list.Backends) == 2 && !slices.ContainsFunc(list.Backends, func(b api.Backend) bool { return b.State != "healthy" })
	}
	if !poll(healthy) {
		for _, b := range list.Backends {
			t.Errorf("backend %s is %s after the storm (last error %q)", b.ID, b.State, b.LastError)
		}
		t.Fatalf("%d backends after the storm, want 2 healthy", len(list.Backends))
	}
	for _, b := range list.Backends {
		resp, err := c.Get(b.URL + "/system_stats")
		if err != nil {
			t.Errorf("backend %s does not answer: %v", b.ID, err)
			continue
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("backend %s: GET /system_stats: %d", b.ID, resp.StatusCode)
		}
	}
}

// checkNormalJob: a plain txt2img job by the user key succeeds. It may
// queue behind jobs the storm's valid prompts started: its state is asked
// again (each ask waits for its end) until testTimeout has passed.
func checkNormalJob(t *testing.T, c *http.Client, base string) {
	t.Helper()
	h := authed(http.Header{"Content-Type": {"application/json"}}, 0)
	body := []byte(`{"workflow":"txt2img","params":{"steps":1,"width":64,"height":64}}`)
	code, data := doStorm(t, c, base, http.MethodPost, "/v1/jobs", h, body)
	var j api.Job
	if code != http.StatusCreated || json.Unmarshal(data, &j) != nil {
		t.Fatalf("a normal job after the storm: %d %s", code, data)
	}
	deadline := time.Now().Add(testTimeout)
	for !j.State.Terminal() && time.Now().Before(deadline) {
		code, data = doStorm(t, c, base, http.MethodGet, "/v1/jobs/"+j.ID+"?wait=20s", h, nil)
		if code != http.StatusOK || json.Unmarshal(data, &j) != nil {
			t.Fatalf("the normal job after the storm: %d %s", code, data)
		}
	}
	if j.State != api.StateSucceeded {
		t.Fatalf("a normal job after the storm: %s %s", j.State, data)
	}
}
