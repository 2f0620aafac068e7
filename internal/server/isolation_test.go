package server

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/comfygate/comfygate/api"
	"github.com/comfygate/comfygate/internal/httpapi"
)

// tenants is a server with two simulators and the keys of three users
// (alice, bob, carol) and an admin (ops), as a team would expose it.
type tenants struct {
	tb   testing.TB
	s    *Server
	c    *http.Client
	base string
}

const metricsKey = "scraper-key-0123456789"

func startTenants(tb testing.TB, mods ...func(*Config)) tenants {
	tb.Helper()
	var keys []httpapi.APIKey
	for _, k := range []string{"alice:alice-key-0123456789", "bob:bob-key-0123456789", "carol:carol-key-0123456789", "ops:ops-key-0123456789:admin"} {
		key, err := ParseAPIKey(k)
		if err != nil {
			tb.Fatal(err)
		}
		keys = append(keys, key)
	}
	mk, err := ParseMetricsKey(metricsKey)
	if err != nil {
		tb.Fatal(err)
	}
	cfg := Config{SimBackends: 2, Examples: true, APIKeys: keys, MetricsKeyHash: mk}
	for _, m := range mods {
		m(&cfg)
	}
	s := startServer(tb, cfg)
	c := client(tb)
	tn := tenants{tb: tb, s: s, c: c, base: s.URL()}
	a := adminClient{tb: tb, c: c, base: s.URL(), key: "ops-key-0123456789"}
	a.waitState("sim-1", "healthy")
	a.waitState("sim-2", "healthy")
	return tn
}

// do sends a request as key's holder ("" for none) and returns the status
// and the raw body.
func (tn tenants) do(key, method, path, contentType string, body []byte) (int, []byte) {
	tn.tb.Helper()
	req, err := http.NewRequest(method, tn.base+path, bytes.NewReader(body))
	if err != nil {
		tn.tb.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key+"-key-0123456789")
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := tn.c.Do(req)
	if err != nil {
		tn.tb.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		tn.tb.Fatal(err)
	}
	return resp.StatusCode, data
}

func (tn tenants) json(key, method, path string, body any) (int, []byte) {
	tn.tb.Helper()
	b, _ := json.Marshal(body)
	return tn.do(key, method, path, "application/json", b)
}

// restUpload uploads data through the REST API and returns its id.
func (tn tenants) restUpload(key, name string, data []byte) string {
	tn.tb.Helper()
	code, body := tn.do(key, "POST", "/v1/uploads?filename="+name, "application/octet-stream", data)
	var up api.Upload
	if err := json.Unmarshal(body, &up); code != http.StatusCreated || err != nil {
		tn.tb.Fatalf("%s uploads %s: %d %s", key, name, code, body)
	}
	return up.ID
}

// comfyUpload uploads data through ComfyUI's /upload/image.
func (tn tenants) comfyUpload(key, name string, data []byte) {
	tn.tb.Helper()
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	fw, _ := w.CreateFormFile("image", name)
	_, _ = fw.Write(data)
	_ = w.Close()
	if code, body := tn.do(key, "POST", "/upload/image", w.FormDataContentType(), b.Bytes()); code != http.StatusOK {
		tn.tb.Fatalf("%s uploads %s to /upload/image: %d %s", key, name, code, body)
	}
}

// runJob submits a REST job as key and waits for its end.
func (tn tenants) runJob(key string, req any) api.Job {
	tn.tb.Helper()
	code, body := tn.json(key, "POST", "/v1/jobs?wait=60s", req)
	var j api.Job
	if err := json.Unmarshal(body, &j); code != http.StatusCreated || err != nil {
		tn.tb.Fatalf("%s's job: %d %s", key, code, body)
	}
	return j
}

func pngOf(tb testing.TB, c color.NRGBA) []byte {
	tb.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, 4, 4))
	for i := 0; i < len(img.Pix); i += 4 {
		img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = c.R, c.G, c.B, c.A
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		tb.Fatal(err)
	}
	return b.Bytes()
}

func loadImagePrompt(image string) map[string]any {
	return map[string]any{
		"1": map[string]any{"class_type": "LoadImage", "inputs": map[string]any{"image": image}},
		"2": map[string]any{"class_type": "SaveImage", "inputs": map[string]any{"images": []any{"1", 0}, "filename_prefix": "in"}},
	}
}

// TestProxyDeniedToUserKeys: with keys on, a user key reaches neither the
// simulators' fault and stats routes nor any other backend route the
// surfaces do not serve; an admin key does; both simulators stay up and
// run the next job. /metrics is the admin's or the scraper's.
func TestProxyDeniedToUserKeys(t *testing.T) {
	tn := startTenants(t)
	for _, tt := range []struct {
		key, method, path, body string
		want                    int
	}{
		{"alice", "POST", "/sim/faults", `{"crash": true}`, http.StatusForbidden},
		{"alice", "POST", "/api/sim/faults", `{"crash": true}`, http.StatusForbidden},
		{"alice", "POST", "/sim/faults", `{"hang": true}`, http.StatusForbidden},
		{"alice", "GET", "/sim/stats", "", http.StatusForbidden},
		{"alice", "GET", "/some_custom_node/reboot", "", http.StatusForbidden},
		{"", "GET", "/sim/stats", "", http.StatusUnauthorized},
		{"ops", "GET", "/sim/stats", "", http.StatusOK},
		{"ops", "GET", "/sim/faults", "", http.StatusOK},
		{"", "GET", "/metrics", "", http.StatusUnauthorized},
		{"alice", "GET", "/metrics", "", http.StatusForbidden},
		{"ops", "GET", "/metrics", "", http.StatusOK},
	} {
		code, body := tn.do(tt.key, tt.method, tt.path, "application/json", []byte(tt.body))
		if code != tt.want {
			t.Errorf("%s %s %s: %d %s, want %d", tt.key, tt.method, tt.path, code, body, tt.want)
		}
		if code == http.StatusForbidden && tt.path != "/metrics" && (!strings.Contains(string(body), tt.path) || !strings.Contains(string(body), "--proxy-allow")) {
			t.Errorf("%s %s: refusal %q names neither the route nor --proxy-allow", tt.method, tt.path, body)
		}
	}
	req, _ := http.NewRequest("GET", tn.base+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+metricsKey)
	if resp, err := tn.c.Do(req); err != nil || resp.StatusCode != http.StatusOK {
		t.Errorf("the scraper's key on /metrics: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	for _, url := range simURLs(t, tn.c, tn.s) {
		simStats(t, tn.c, url) // answers: the simulator is up
	}
	ran := adminClient{tb: t, c: tn.c, base: tn.base, key: "ops-key-0123456789"}.runJobs(4, 7)
	if len(ran) != 2 {
		t.Errorf("jobs after the refused faults ran on %v, want both simulators", ran)
	}
}

// TestUploadsAndWorkflowsPerKey: carol gets nothing from alice's upload id
// on the REST or the ComfyUI-compatible surface; bob, who uploaded the
// same bytes, reads them back and runs them; a user's workflows are its
// own on the REST and Flask surfaces, and the shared ones are not theirs
// to change.
func TestUploadsAndWorkflowsPerKey(t *testing.T) {
	tn := startTenants(t)
	data := pngOf(t, color.NRGBA{R: 10, G: 200, B: 30, A: 255})
	id := tn.restUpload("alice", "cat.png", data)
	tn.comfyUpload("bob", "cat.png", data) // the same bytes, through the other surface
	sum := sha256.Sum256(data)
	staged := "comfygate/" + hex.EncodeToString(sum[:]) + ".png"
	if id != hex.EncodeToString(sum[:]) {
		t.Fatalf("upload id %s is not the content hash", id)
	}

	// bob reads back and runs the bytes he uploaded.
	if code, body := tn.do("bob", "GET", "/v1/artifacts/"+id, "", nil); code != http.StatusOK || !bytes.Equal(body, data) {
		t.Errorf("bob reads back his upload: %d (%d bytes)", code, len(body))
	}
	if j := tn.runJob("bob", map[string]any{"prompt": loadImagePrompt(id)}); j.State != api.StateSucceeded {
		t.Errorf("bob's job on his upload: %s %+v", j.State, j.Error)
	}
	// carol gets nothing from it.
	if code, body := tn.do("carol", "GET", "/v1/artifacts/"+id, "", nil); code != http.StatusNotFound || bytes.Contains(body, data) {
		t.Errorf("carol downloads alice's upload: %d", code)
	}
	code, body := tn.json("carol", "POST", "/v1/jobs", map[string]any{"prompt": loadImagePrompt(id)})
	var e api.ErrorResponse
	if _ = json.Unmarshal(body, &e); code != http.StatusBadRequest || e.Error.Field != "prompt.1.inputs.image" {
		t.Errorf("carol runs alice's upload on REST: %d %s", code, body)
	}
	for _, name := range []string{staged, id} {
		code, body = tn.json("carol", "POST", "/prompt", map[string]any{"prompt": loadImagePrompt(name)})
		if code != http.StatusBadRequest || !strings.Contains(string(body), `"node_errors":{"1"`) {
			t.Errorf("carol loads %s on the ComfyUI surface: %d %s", name, code, body)
		}
	}
	code, body = tn.json("bob", "POST", "/prompt", map[string]any{"prompt": loadImagePrompt(staged)})
	if code != http.StatusOK {
		t.Errorf("bob loads the staged name of his upload: %d %s", code, body)
	}

	// Workflows: alice's own, the shared examples.
	graph := map[string]any{"1": map[string]any{"class_type": "EmptyImage", "inputs": map[string]any{"width": 8, "height": 8, "batch_size": 1, "color": 0}},
		"2": map[string]any{"class_type": "SaveImage", "inputs": map[string]any{"images": []any{"1", 0}, "filename_prefix": "mine"}}}
	if code, body := tn.json("alice", "PUT", "/v1/workflows/mine", graph); code != http.StatusCreated {
		t.Fatalf("alice stores a workflow: %d %s", code, body)
	}
	for _, tt := range []struct {
		key, method, path string
		body              any
		want              int
	}{
		{"bob", "GET", "/v1/workflows/mine", nil, http.StatusNotFound},
		{"bob", "DELETE", "/v1/workflows/mine", nil, http.StatusNotFound},
		{"bob", "POST", "/api/workflow/mine", map[string]any{"prompt": "a fox"}, http.StatusNotFound},
		{"bob", "PUT", "/v1/workflows/txt2img", graph, http.StatusConflict},
		{"bob", "DELETE", "/v1/workflows/txt2img", nil, http.StatusForbidden},
		{"alice", "DELETE", "/v1/workflows/img2img", nil, http.StatusForbidden},
		{"alice", "POST", "/v1/workflows/mine/jobs?wait=60s", map[string]any{}, http.StatusCreated},
	} {
		if code, body := tn.json(tt.key, tt.method, tt.path, tt.body); code != tt.want {
			t.Errorf("%s %s %s: %d %s, want %d", tt.key, tt.method, tt.path, code, body, tt.want)
		}
	}
	flaskNames := func(key string) []string {
		_, body := tn.do(key, "GET", "/api/workflows", "", nil)
		var list struct{ Workflows []string }
		_ = json.Unmarshal(body, &list)
		slices.Sort(list.Workflows)
		return list.Workflows
	}
	if got := flaskNames("bob"); !slices.Equal(got, []string{"img2img", "txt2img"}) {
		t.Errorf("bob's Flask workflow list: %v", got)
	}
	if got := flaskNames("alice"); !slices.Equal(got, []string{"img2img", "mine", "txt2img"}) {
		t.Errorf("alice's Flask workflow list: %v", got)
	}
	if code, body := tn.json("alice", "GET", "/v1/workflows/mine", nil); code != http.StatusOK {
		t.Errorf("alice's workflow after the others tried: %d %s", code, body)
	}
}

// TestBackendPathsHiddenFromUserKeys: a job whose input is not an image
// fails on the simulator with its own file path in the message; a user
// key reads the message without the directory on the REST and Flask
// surfaces and in its webhook, the admin reads it whole.
func TestBackendPathsHiddenFromUserKeys(t *testing.T) {
	tn := startTenants(t, func(c *Config) { c.AllowLoopbackURLs = true })
	var (
		mu    sync.Mutex // guards hooks
		hooks = map[string]string{}
	)
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var m api.WebhookMessage
		if json.Unmarshal(body, &m) == nil && m.Type == api.WebhookFailed {
			mu.Lock()
			hooks[m.Data.ID] = string(body)
			mu.Unlock()
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(receiver.Close)
	for _, key := range []string{"alice", "ops"} {
		id := tn.restUpload(key, "broken.png", []byte("these bytes are no image"))
		j := tn.runJob(key, map[string]any{"prompt": loadImagePrompt(id), "webhook": receiver.URL + "/hook"})
		if j.State != api.StateFailed || j.Error == nil {
			t.Fatalf("%s's job on a broken image: %s", key, j.State)
		}
		_, flask := tn.do(key, "GET", "/api/task_status/"+j.ID, "", nil)
		var hook string
		if !poll(func() bool { mu.Lock(); defer mu.Unlock(); hook = hooks[j.ID]; return hook != "" }) {
			t.Fatalf("%s's job.failed webhook never came", key)
		}
		for where, text := range map[string]string{"REST": j.Error.Message, "Flask": string(flask), "webhook": hook} {
			if !strings.Contains(text, "cannot identify image file") {
				t.Errorf("%s's %s answer lost the error: %s", key, where, text)
			}
			if shown := strings.Contains(text, tn.s.cfg.DataDir); shown != (key == "ops") {
				t.Errorf("%s reads the data directory on %s: %v (%s)", key, where, shown, text)
			}
		}
	}
}

// TestWebhookErrorsHideAddresses: a webhook whose receiver refuses the
// connection records the network's words; the delivery list shows a user
// key no address, and the admin the whole error.
func TestWebhookErrorsHideAddresses(t *testing.T) {
	tn := startTenants(t, func(c *Config) { c.AllowLoopbackURLs = true })
	hook := closedURL(t) + "/hook"
	const host = "127.0.0.1" // closedURL's
	for _, key := range []string{"alice", "ops"} {
		j := tn.runJob(key, map[string]any{"workflow": "txt2img", "params": map[string]any{"steps": 1, "width": 64, "height": 64}, "webhook": hook})
		var list api.DeliveryList
		if !poll(func() bool {
			_, body := tn.do(key, "GET", "/v1/jobs/"+j.ID+"/deliveries", "", nil)
			list = api.DeliveryList{}
			_ = json.Unmarshal(body, &list)
			return len(list.Deliveries) > 0 && len(list.Deliveries[0].Attempts) > 0
		}) {
			t.Fatalf("%s's webhook was never tried", key)
		}
		msg := list.Deliveries[0].Attempts[0].Error
		if !strings.Contains(msg, "connection refused") {
			t.Fatalf("%s's attempt failed otherwise: %q", key, msg)
		}
		if shown := strings.Contains(msg, host); shown != (key == "ops") {
			t.Errorf("%s reads the receiver's address in %q: %v", key, msg, shown)
		}
	}
}
