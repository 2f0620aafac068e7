package flaskapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/comfygate/comfygate/api"
	"github.com/comfygate/comfygate/internal/httpapi"
	"github.com/comfygate/comfygate/internal/server"
)

// e2eTimeout bounds every wait; reaching it means something is broken.
const e2eTimeout = 60 * time.Second

// flaskClient talks to the gateway as a client of the Flask service does:
// JSON in, JSON out, one API key.
type flaskClient struct {
	tb   testing.TB
	http *http.Client
	base string
	key  string
}

func (c *flaskClient) do(method, path, body string) (int, []byte, http.Header) {
	c.tb.Helper()
	req, err := http.NewRequest(method, c.base+path, strings.NewReader(body))
	if err != nil {
		c.tb.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.key != "" {
		req.Header.Set("Authorization", "Bearer "+c.key)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.tb.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		c.tb.Fatal(err)
	}
	return resp.StatusCode, data, resp.Header
}

// json sends a request and decodes the answer, which must have status want.
func (c *flaskClient) json(method, path, body string, want int) map[string]any {
	c.tb.Helper()
	code, data, _ := c.do(method, path, body)
	if code != want {
		c.tb.Fatalf("%s %s: status %d, want %d: %s", method, path, code, want, data)
	}
	var out map[string]any
	if err := json.Unmarshal(data, &out); err != nil {
		c.tb.Fatalf("%s %s: %v: %s", method, path, err, data)
	}
	return out
}

// startGateway runs the real process (store, fleet, one simulated ComfyUI,
// every surface) on a free port, with API keys for alice and bob.
func startGateway(tb testing.TB) string {
	tb.Helper()
	s, err := server.New(server.Config{
		Listen: "127.0.0.1:0", DataDir: tb.TempDir(), SimBackends: 1, Examples: true,
		APIKeys: []httpapi.APIKey{{ID: "alice", Hash: httpapi.HashKey("alice-key")}, {ID: "bob", Hash: httpapi.HashKey("bob-key")}},
	})
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), e2eTimeout)
	defer cancel()
	if err := s.Start(ctx); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), e2eTimeout)
		defer cancel()
		if err := s.Stop(ctx); err != nil {
			tb.Errorf("stop: %v", err)
		}
	})
	return s.URL()
}

func newClient(tb testing.TB, base, key string) *flaskClient {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tb.Cleanup(tr.CloseIdleConnections)
	return &flaskClient{tb: tb, http: &http.Client{Transport: tr}, base: base, key: key}
}

// poll checks cond until it holds or e2eTimeout passes; the pause between
// checks only saves CPU, as a real poller's interval does.
func poll(cond func() bool) bool {
	for deadline := time.Now().Add(e2eTimeout); time.Now().Before(deadline); {
		if cond() {
			return true
		}
		time.Sleep(10 * time.Millisecond)
	}
	return false
}

// TestFlaskClientEndToEnd drives the real stack the way the Dify client in
// the Flask repository does: list workflows, submit, poll task_status until
// completed, fetch the image list, download the first image.
func TestFlaskClientEndToEnd(t *testing.T) {
	base := startGateway(t)
	alice := newClient(t, base, "alice-key")
	if !poll(func() bool { code, _, _ := alice.do("GET", "/api/test_comfy", ""); return code == http.StatusOK }) {
		t.Fatal("test_comfy never reported a healthy backend")
	}
	conn := alice.json("GET", "/api/test_comfy", "", http.StatusOK)
	if conn["status"] != "success" || conn["comfyui_url"] != base+"/system_stats" {
		t.Fatalf("test_comfy = %v", conn)
	}
	list := alice.json("GET", "/api/workflows", "", http.StatusOK)
	if names, _ := list["workflows"].([]any); !slices.Contains(names, any("txt2img")) {
		t.Fatalf("workflows = %v, want txt2img listed", list)
	}

	for _, tc := range []struct {
		name, path, body string
		want             map[string]string // node id → text it must have run with
	}{
		{"simple", "/api/workflow/txt2img", `{"prompt": "a cat on a mat"}`, map[string]string{"6": "a cat on a mat", "7": "blurry"}},
		{"simple with target", "/api/workflow/txt2img", `{"prompt": "dogs", "target_node": "7"}`, map[string]string{"6": "a red fox in snow", "7": "dogs"}},
		{"advanced", "/flask/api/workflow/txt2img", `{"6": {"inputs": {"text": "pos"}}, "7": {"text": "neg"}, "3": {"inputs": {"steps": 2}}}`,
			map[string]string{"6": "pos", "7": "neg"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			alice := newClient(t, base, "alice-key")
			run := alice.json("POST", tc.path, tc.body, http.StatusOK)
			id, _ := run["prompt_id"].(string)
			if run["status"] != "success" || id == "" || !strings.HasPrefix(run["client_id"].(string), "my-api-") {
				t.Fatalf("run = %v", run)
			}
			final := pollStatus(t, alice, id)
			checkImages(t, alice, final["images"])
			checkRanWith(t, alice, id, tc.want)
			checkListed(t, alice, id)
			checkIsolated(t, newClient(t, base, "bob-key"), id, final["images"])
		})
	}
	checkErrors(t, base)
}

// pollStatus polls task_status until completed; every answer on the way
// must be one a Flask client understands.
func pollStatus(tb testing.TB, c *flaskClient, id string) map[string]any {
	tb.Helper()
	var last map[string]any
	ok := poll(func() bool {
		last = c.json("GET", "/api/task_status/"+id, "", http.StatusOK)
		switch last["status"] {
		case "pending", "running":
			return false
		case "completed":
			return true
		}
		tb.Fatalf("task_status = %v, want pending, running or completed", last)
		return false
	})
	if !ok {
		tb.Fatalf("job %s never completed; last status %v", id, last)
	}
	if tm, _ := last["execution_time"].(float64); tm < 0 || last["message"] != "Image generation completed" {
		tb.Fatalf("completed status = %v", last)
	}
	return last
}

// checkImages downloads every image url, as given and cut at the first "&"
// as the Dify client does, and expects a PNG.
func checkImages(tb testing.TB, c *flaskClient, images any) {
	tb.Helper()
	list, _ := images.([]any)
	if len(list) == 0 {
		tb.Fatalf("images = %v, want at least one", images)
	}
	for _, it := range list {
		img := it.(map[string]any)
		url := img["url"].(string)
		if img["filename"] == "" || img["type"] != "output" || strings.Split(url, "&")[0] != url {
			tb.Errorf("image = %v", img)
		}
		code, body, h := c.do("GET", strings.TrimPrefix(url, c.base), "")
		if code != http.StatusOK || h.Get("Content-Type") != "image/png" || !bytes.HasPrefix(body, []byte("\x89PNG")) {
			tb.Errorf("download %s: status %d, type %q, %d bytes", url, code, h.Get("Content-Type"), len(body))
		}
	}
	tb.Logf("%d image(s) downloaded", len(list))
}

// checkRanWith reads the graph that ran from /flask/api/history/{id}
// (ComfyUI's shape: {id: {"prompt": [n, id, graph, extra, outputs]}}).
func checkRanWith(tb testing.TB, c *flaskClient, id string, want map[string]string) {
	tb.Helper()
	_, data, _ := c.do("GET", "/flask/api/history/"+id, "")
	var hist map[string]struct {
		Prompt  []json.RawMessage `json:"prompt"`
		Outputs map[string]any    `json:"outputs"`
		Status  struct {
			StatusStr string `json:"status_str"`
		} `json:"status"`
	}
	if err := json.Unmarshal(data, &hist); err != nil || len(hist[id].Prompt) != 5 {
		tb.Fatalf("history of %s: %v: %s", id, err, data)
	}
	var graph map[string]struct {
		Inputs map[string]any `json:"inputs"`
	}
	if err := json.Unmarshal(hist[id].Prompt[2], &graph); err != nil {
		tb.Fatal(err)
	}
	for node, text := range want {
		if got := graph[node].Inputs["text"]; got != text {
			tb.Errorf("node %s ran with text %v, want %q", node, got, text)
		}
	}
	if hist[id].Status.StatusStr != "success" || len(hist[id].Outputs) == 0 {
		tb.Errorf("history entry = %s", data)
	}
	img := c.json("GET", "/api/image/"+id, "", http.StatusOK)
	if img["status"] != "success" {
		tb.Errorf("/api/image = %v", img)
	}
}

// checkListed: the job is a real comfygate job, visible in /v1/jobs.
func checkListed(tb testing.TB, c *flaskClient, id string) {
	tb.Helper()
	var j api.Job
	_, data, _ := c.do("GET", "/v1/jobs/"+id, "")
	if err := json.Unmarshal(data, &j); err != nil || j.ID != id || j.State != api.StateSucceeded || j.Workflow != "txt2img" {
		tb.Fatalf("/v1/jobs/%s = %s (%v)", id, data, err)
	}
}

// checkIsolated: another key sees neither the job nor its images.
func checkIsolated(tb testing.TB, bob *flaskClient, id string, images any) {
	tb.Helper()
	if st := bob.json("GET", "/api/task_status/"+id, "", http.StatusOK); st["status"] != "not_found" {
		tb.Errorf("bob's task_status of alice's job = %v", st)
	}
	bob.json("GET", "/api/image/"+id, "", http.StatusNotFound)
	url := images.([]any)[0].(map[string]any)["url"].(string)
	if code, _, _ := bob.do("GET", strings.TrimPrefix(url, bob.base), ""); code != http.StatusNotFound {
		tb.Errorf("bob downloads alice's image: status %d, want 404", code)
	}
}

func checkErrors(tb testing.TB, base string) {
	alice := newClient(tb, base, "alice-key")
	for _, tc := range []struct {
		path, body string
		want       int
		msg        string
	}{
		{"/api/workflow/nope", `{"prompt": "x"}`, http.StatusNotFound, "Workflow nope not found"},
		{"/api/workflow/txt2img", `{"prompt": "x", "target_node": "3"}`, http.StatusBadRequest, "Target node 3 is not a text input node"},
		{"/api/workflow/txt2img", `{"prompt": "x",`, http.StatusBadRequest, "Invalid JSON format"},
		{"/api/workflow/txt2img", `{"4": {"inputs": {"ckpt_name": "missing.safetensors"}}}`, http.StatusBadRequest, "ckpt_name"},
	} {
		got := alice.json("POST", tc.path, tc.body, tc.want)
		if msg, _ := got["error"].(string); !strings.Contains(msg, tc.msg) {
			tb.Errorf("POST %s %s: error %q, want it to contain %q", tc.path, tc.body, msg, tc.msg)
		}
	}
	anon := newClient(tb, base, "")
	if got := anon.json("GET", "/api/workflows", "", http.StatusUnauthorized); got["error"] == "" {
		tb.Errorf("no key: %v", got)
	}
}
