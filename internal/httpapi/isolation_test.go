package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/comfygate/comfygate/api"
	"github.com/comfygate/comfygate/internal/gateway"
	"github.com/comfygate/comfygate/internal/job"
	"github.com/comfygate/comfygate/internal/store/sqlite"
)

// keyedEnv is the REST API over the real use cases with user keys alice,
// bob and carol and the admin key ops.
type keyedEnv struct {
	srv   *httptest.Server
	store *sqlite.Store
}

func newKeyedEnv(tb testing.TB) keyedEnv {
	tb.Helper()
	svc, st, _ := newUseCases(tb, gateway.Config{Fleet: idleFleet{}, Admins: []string{"ops"}})
	var keys []APIKey
	for _, id := range []string{"alice", "bob", "carol", "ops"} {
		keys = append(keys, APIKey{ID: id, Hash: HashKey(id + "-key"), Admin: id == "ops"})
	}
	s, err := New(Gateway(svc), Config{APIKeys: keys})
	if err != nil {
		tb.Fatal(err)
	}
	srv := httptest.NewServer(s)
	tb.Cleanup(func() {
		s.Drain()
		srv.Close()
	})
	return keyedEnv{srv: srv, store: st}
}

type keyedResponse struct {
	status int
	body   []byte
}

func (e keyedEnv) do(tb testing.TB, key, method, path string, body []byte, contentType string) keyedResponse {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, e.srv.URL+path, bytes.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+key+"-key")
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	res, err := e.srv.Client().Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	return keyedResponse{status: res.StatusCode, body: data}
}

func (r keyedResponse) errorBody(tb testing.TB) api.ErrorBody {
	tb.Helper()
	var e api.ErrorResponse
	if err := json.Unmarshal(r.body, &e); err != nil {
		tb.Fatalf("not an error body (%d): %s", r.status, r.body)
	}
	return e.Error
}

func loadImagePrompt(image string) []byte {
	b, _ := json.Marshal(map[string]any{
		"1": map[string]any{"class_type": "LoadImage", "inputs": map[string]any{"image": image}},
		"2": map[string]any{"class_type": "PreviewImage", "inputs": map[string]any{"images": []any{"1", 0}}},
	})
	return b
}

// TestUploadsStayWithTheirKeys: bob reads back the bytes he uploaded
// after alice uploaded the same; carol, who uploaded nothing, neither
// downloads them nor runs a job on them, and is told which field.
func TestUploadsStayWithTheirKeys(t *testing.T) {
	e := newKeyedEnv(t)
	data := []byte("GIF89a the same bytes")
	var id string
	for _, key := range []string{"alice", "bob"} {
		r := e.do(t, key, "POST", "/v1/uploads?filename=cat.gif", data, "image/gif")
		if r.status != http.StatusCreated {
			t.Fatalf("%s uploads: %d %s", key, r.status, r.body)
		}
		var up api.Upload
		_ = json.Unmarshal(r.body, &up)
		id = up.ID
	}
	for _, key := range []string{"alice", "bob"} {
		r := e.do(t, key, "GET", "/v1/artifacts/"+id, nil, "")
		if r.status != http.StatusOK || !bytes.Equal(r.body, data) {
			t.Errorf("%s reads back its upload: %d %q", key, r.status, r.body)
		}
	}
	if r := e.do(t, "carol", "GET", "/v1/artifacts/"+id, nil, ""); r.status != http.StatusNotFound || bytes.Contains(r.body, data) {
		t.Errorf("carol downloads another key's upload: %d %q", r.status, r.body)
	}

	spec, _ := json.Marshal(map[string]any{"graph": json.RawMessage(loadImagePrompt("example.png")),
		"params": map[string]any{"photo": map[string]any{"target": "1.inputs.image", "type": "image"}}})
	if r := e.do(t, "ops", "PUT", "/v1/workflows/show", spec, "application/json"); r.status != http.StatusCreated {
		t.Fatalf("the admin stores a shared workflow: %d %s", r.status, r.body)
	}
	prompt, _ := json.Marshal(map[string]any{"prompt": json.RawMessage(loadImagePrompt(id))})
	param, _ := json.Marshal(map[string]any{"workflow": "show", "params": map[string]any{"photo": id}})
	override, _ := json.Marshal(map[string]any{"workflow": "show", "overrides": map[string]any{"1": map[string]any{"inputs": map[string]any{"image": id}}}})
	for _, tt := range []struct {
		name  string
		body  []byte
		field string
	}{
		{"prompt", prompt, "prompt.1.inputs.image"},
		{"parameter", param, "params.photo"},
		{"override", override, "overrides.1.inputs.image"},
	} {
		r := e.do(t, "carol", "POST", "/v1/jobs", tt.body, "application/json")
		if r.status != http.StatusBadRequest || r.errorBody(t).Field != tt.field {
			t.Errorf("carol runs alice's upload by %s: %d %s, want 400 on %s", tt.name, r.status, r.body, tt.field)
		}
		if r := e.do(t, "bob", "POST", "/v1/jobs", tt.body, "application/json"); r.status != http.StatusCreated {
			t.Errorf("bob runs his own upload by %s: %d %s", tt.name, r.status, r.body)
		}
	}
}

// TestWorkflowsStayWithTheirKeys: a user key's workflow is its own; the
// shared ones are read and run by all and changed by admins only.
func TestWorkflowsStayWithTheirKeys(t *testing.T) {
	e := newKeyedEnv(t)
	graph := []byte(`{"1":{"class_type":"EmptyImage","inputs":{"width":8,"height":8,"batch_size":1,"color":0}},"2":{"class_type":"PreviewImage","inputs":{"images":["1",0]}}}`)
	other := bytes.Replace(graph, []byte(`"width":8`), []byte(`"width":16`), 1)
	wf := func(r keyedResponse) api.Workflow {
		var w api.Workflow
		_ = json.Unmarshal(r.body, &w)
		return w
	}
	if r := e.do(t, "alice", "PUT", "/v1/workflows/mine", graph, "application/json"); r.status != http.StatusCreated || wf(r).Shared {
		t.Fatalf("alice stores her own: %d %s", r.status, r.body)
	}
	if r := e.do(t, "ops", "PUT", "/v1/workflows/house", graph, "application/json"); r.status != http.StatusCreated || !wf(r).Shared {
		t.Fatalf("ops stores a shared one: %d %s", r.status, r.body)
	}
	for _, tt := range []struct {
		key, method, path string
		body              []byte
		want              int
		code              string
	}{
		{"bob", "GET", "/v1/workflows/mine", nil, 404, api.CodeNotFound},
		{"bob", "POST", "/v1/workflows/mine/jobs", []byte(`{}`), 404, api.CodeNotFound},
		{"bob", "POST", "/v1/jobs", []byte(`{"workflow":"mine"}`), 404, api.CodeNotFound},
		{"bob", "DELETE", "/v1/workflows/mine", nil, 404, api.CodeNotFound},
		{"ops", "DELETE", "/v1/workflows/mine", nil, 404, api.CodeNotFound},
		{"bob", "PUT", "/v1/workflows/house", other, 409, "workflow_shared"},
		{"bob", "DELETE", "/v1/workflows/house", nil, 403, api.CodeForbidden},
		{"bob", "GET", "/v1/workflows/house", nil, 200, ""},
		{"bob", "POST", "/v1/workflows/house/jobs", []byte(`{}`), 201, ""},
		{"alice", "GET", "/v1/workflows/mine", nil, 200, ""},
		{"alice", "POST", "/v1/workflows/mine/jobs", []byte(`{}`), 201, ""},
	} {
		r := e.do(t, tt.key, tt.method, tt.path, tt.body, "application/json")
		if r.status != tt.want || (tt.code != "" && r.errorBody(t).Code != tt.code) {
			t.Errorf("%s %s %s: %d %s, want %d %s", tt.key, tt.method, tt.path, r.status, r.body, tt.want, tt.code)
		}
	}
	if r := e.do(t, "alice", "GET", "/v1/workflows/mine", nil, ""); wf(r).Version == "" || !bytes.Contains(r.body, []byte(`"width":8`)) {
		t.Errorf("alice's workflow changed: %s", r.body)
	}
	r := e.do(t, "bob", "GET", "/v1/workflows", nil, "")
	var list api.WorkflowList
	_ = json.Unmarshal(r.body, &list)
	if len(list.Workflows) != 1 || list.Workflows[0].Name != "house" {
		t.Errorf("bob lists %s", r.body)
	}
	if r := e.do(t, "ops", "PUT", "/v1/workflows/house", other, "application/json"); r.status/100 != 2 || !bytes.Contains(r.body, []byte(`"width":16`)) {
		t.Errorf("ops changes the shared one: %d %s", r.status, r.body)
	}
	if r := e.do(t, "ops", "DELETE", "/v1/workflows/house", nil, ""); r.status != http.StatusNoContent {
		t.Errorf("ops deletes the shared one: %d %s", r.status, r.body)
	}
}

// TestJobErrorsPerKey: a backend's words in a failed job reach a user key
// without addresses and paths, and an admin key whole.
func TestJobErrorsPerKey(t *testing.T) {
	e := newKeyedEnv(t)
	ctx := context.Background()
	const (
		msg     = "[Errno 2] No such file or directory: '/srv/ComfyUI/models/checkpoints/x.safetensors'"
		attempt = `submit to backend failed: Post "http://10.0.0.5:8188/prompt": dial tcp 10.0.0.5:8188: connect: connection refused`
	)
	ids := map[string]string{}
	for _, owner := range []string{"alice", "ops"} {
		j, _, err := e.store.CreateJob(ctx, &job.Job{Owner: owner, Source: job.SourceREST, State: job.StateQueued, Graph: json.RawMessage(`{}`),
			AttemptLog: []job.Attempt{{Backend: "gpu-1", Outcome: "backend_lost", Error: attempt}},
			Error:      &job.Error{Type: "FileNotFoundError", Message: msg, Traceback: []string{`  File "/srv/ComfyUI/nodes.py", line 1, in load`}}})
		if err != nil {
			t.Fatal(err)
		}
		ids[owner] = j.ID
	}
	user := e.do(t, "alice", "GET", "/v1/jobs/"+ids["alice"], nil, "")
	if bytes.Contains(user.body, []byte("10.0.0.5")) || bytes.Contains(user.body, []byte("/srv/")) ||
		!bytes.Contains(user.body, []byte("x.safetensors")) || !bytes.Contains(user.body, []byte("connection refused")) {
		t.Errorf("alice's failed job: %s", user.body)
	}
	admin := e.do(t, "ops", "GET", "/v1/jobs/"+ids["ops"], nil, "")
	if !bytes.Contains(admin.body, []byte("10.0.0.5:8188")) || !strings.Contains(string(admin.body), "/srv/ComfyUI/models") {
		t.Errorf("the admin's failed job is not whole: %s", admin.body)
	}
}
