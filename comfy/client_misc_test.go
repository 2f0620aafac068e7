package comfy

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestEmptyBodyRoutes covers the routes that answer 200 with an empty body,
// and what the client sends to them.
func TestEmptyBodyRoutes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, capture, path, wantBody string
		call                          func(context.Context, *Client) error
	}{
		{"clear queue", "08-post-queue-delete-pending-prompt", "/queue", `{"clear":true}`,
			func(ctx context.Context, c *Client) error { return c.ClearQueue(ctx) }},
		{"delete queued", "08-post-queue-delete-pending-prompt", "/queue", `{"delete":["a","b"]}`,
			func(ctx context.Context, c *Client) error { return c.DeleteQueued(ctx, "a", "b") }},
		{"interrupt", "09-post-interrupt-global-interrupt-empty-body", "/interrupt", `{}`,
			func(ctx context.Context, c *Client) error { return c.Interrupt(ctx) }},
		{"interrupt prompt", "09-post-interrupt-global-interrupt-empty-body", "/interrupt", `{"prompt_id":"p"}`,
			func(ctx context.Context, c *Client) error { return c.InterruptPrompt(ctx, "p") }},
		{"free", "18-post-free", "/free", `{"unload_models":true,"free_memory":true}`,
			func(ctx context.Context, c *Client) error {
				return c.Free(ctx, FreeRequest{UnloadModels: true, FreeMemory: true})
			}},
		{"delete history", "18-post-history-history-delete-unknown", "/history", `{"delete":["x"]}`,
			func(ctx context.Context, c *Client) error { return c.DeleteHistory(ctx, "x") }},
		{"clear history", "18-post-history-history-delete-unknown", "/history", `{"clear":true}`,
			func(ctx context.Context, c *Client) error { return c.ClearHistory(ctx) }},
	}
	f := newFakeComfy(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.respond(findResponse(t, tt.capture))
			if err := tt.call(testCtx(t), f.client()); err != nil {
				t.Fatal(err)
			}
			req := f.lastRequest()
			if req.Method != "POST" || req.Path != tt.path || bodyOf(req) != tt.wantBody {
				t.Errorf("sent %s %s %s, want POST %s %s", req.Method, req.Path, req.Body, tt.path, tt.wantBody)
			}
		})
	}
}

func TestPlainText500(t *testing.T) {
	t.Parallel()
	f := newFakeComfy(t)
	r := findResponse(t, "18-post-queue-malformed-json-to-queue")
	f.respond(r)
	err := f.client().ClearQueue(testCtx(t))
	var he *HTTPError
	if !errors.As(err, &he) || he.Status != 500 || he.Body != "500 Internal Server Error\n\nServer got itself in trouble" {
		t.Fatalf("err = %#v", err)
	}
}

func TestInfoRoutes(t *testing.T) {
	t.Parallel()
	f := newFakeComfy(t)
	c := f.client()
	ctx := testCtx(t)

	f.respond(findResponse(t, "04-get-prompt-queue-remaining"))
	if pi, err := c.PromptInfo(ctx); err != nil || pi.ExecInfo.QueueRemaining != 3 {
		t.Errorf("PromptInfo = %+v, %v", pi, err)
	}

	f.respond(findResponse(t, "11-get-system-stats"))
	st, err := c.SystemStats(ctx)
	if err != nil || st.System.ComfyUIVersion != "0.3.64" || st.System.RAMTotal != 25276510208 ||
		len(st.Devices) != 1 || st.Devices[0].Index != nil || st.System.InstalledTemplatesVersion != nil {
		t.Errorf("SystemStats = %+v, %v", st, err)
	}

	f.respond(findResponse(t, "01-get-features"))
	ff, err := c.Features(ctx)
	if err != nil || !ff.Bool(FlagSupportsPreviewMetadata) || ff[FlagMaxUploadSize] != json.Number("104857600") {
		t.Errorf("Features = %#v, %v", ff, err)
	}

	f.respond(findResponse(t, "18-get-embeddings"))
	if e, err := c.Embeddings(ctx); err != nil || e == nil || len(e) != 0 {
		t.Errorf("Embeddings = %#v, %v; want empty non-nil", e, err)
	}

	f.respond(findResponse(t, "18-get-models"))
	if m, err := c.Models(ctx); err != nil || len(m) == 0 || m[0] != "checkpoints" {
		t.Errorf("Models = %v, %v", m, err)
	}

	f.respond(findResponse(t, "18-get-models-checkpoints"))
	if _, err := c.ModelFiles(ctx, "checkpoints"); err != nil || f.lastRequest().Path != "/models/checkpoints" {
		t.Errorf("ModelFiles: %v", err)
	}

	f.respond(findResponse(t, "18-get-nonexistent"))
	if _, err := c.ModelFiles(ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("ModelFiles(unknown) err = %v, want ErrNotFound", err)
	}
}

func TestNodeInfo(t *testing.T) {
	t.Parallel()
	f := newFakeComfy(t)
	c := f.client()
	ctx := testCtx(t)

	f.respond(findResponse(t, "12-get-object-info-saveimage"))
	def, err := c.NodeInfo(ctx, "SaveImage")
	if err != nil {
		t.Fatal(err)
	}
	if !def.OutputNode || def.Title() != "Save Image" || def.Deprecated != nil {
		t.Errorf("SaveImage = %+v", def)
	}
	if diff := cmp.Diff([]string{"images", "filename_prefix"}, specNames(def.Input.Required)); diff != "" {
		t.Errorf("required order (-want +got):\n%s", diff)
	}
	if typ, _, err := def.Input.Hidden[0].TypeName(); err != nil || typ != "PROMPT" {
		t.Errorf("hidden prompt type %q, %v", typ, err)
	}

	f.respond(findResponse(t, "12-get-object-info-imageblur-v3-schema-node"))
	def, err = c.NodeInfo(ctx, "ImageBlur")
	if err != nil {
		t.Fatal(err)
	}
	if def.DisplayName != nil || def.Title() != "ImageBlur" || def.Deprecated == nil || *def.Deprecated {
		t.Errorf("ImageBlur = %+v", def)
	}
	sp, section, ok := def.Input.Lookup("blur_radius")
	if typ, _, err := sp.TypeName(); !ok || section != "required" || err != nil || typ != "INT" {
		t.Errorf("blur_radius: %s %v %q %v", section, ok, typ, err)
	}
	if got := string(sp.Options()); got != `{"default": 1, "min": 1, "max": 31, "step": 1}` {
		t.Errorf("options %s", got)
	}

	f.respond(findResponse(t, "07-get-object-info-loadimage-loadimage-combo-now-lists-uploads"))
	def, err = c.NodeInfo(ctx, "LoadImage")
	if err != nil {
		t.Fatal(err)
	}
	sp, _, _ = def.Input.Lookup("image")
	if typ, opts, err := sp.TypeName(); err != nil || typ != "COMBO" || len(opts) == 0 {
		t.Errorf("LoadImage image: %q %d options %v", typ, len(opts), err)
	}

	f.respond(findResponse(t, "12-get-object-info-nosuchnode-unknown-node"))
	if _, err := c.NodeInfo(ctx, "NoSuchNode"); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown class err = %v, want ErrNotFound", err)
	}
	if got := f.lastRequest().Path; got != "/object_info/NoSuchNode" {
		t.Errorf("path %s", got)
	}
}

func specNames(s InputSpecs) []string {
	var out []string
	for _, sp := range s {
		out = append(out, sp.Name)
	}
	return out
}

func TestNodeDefKeepsUnknownFields(t *testing.T) {
	t.Parallel()
	in := `{"input": {}, "output": [], "output_is_list": [], "output_name": [], "name": "X", "display_name": "X", "description": "", "python_module": "custom_nodes.x", "category": "c", "output_node": false, "search_aliases": ["y"], "dev_only": true}`
	var d NodeDef
	if err := json.Unmarshal([]byte(in), &d); err != nil {
		t.Fatal(err)
	}
	if len(d.Extra) != 2 || string(d.Extra["dev_only"]) != "true" {
		t.Errorf("Extra = %v", d.Extra)
	}
	out, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	assertSameJSON(t, []byte(in), out)
}

func TestJobs(t *testing.T) {
	t.Parallel()
	f := newFakeComfy(t)
	c := f.client(WithAPIPrefix(true))
	ctx := testCtx(t)

	f.respond(capturedResponse{Status: 200, ContentType: "application/json", Body: readTestdata(t, "synthetic/jobs-list.json")})
	list, err := c.Jobs(ctx, JobQuery{Statuses: []string{JobPending, JobCompleted}, Limit: 10})
	if err != nil || len(list.Jobs) != 2 || list.Jobs[0].Status != JobCompleted || list.Pagination.Total != 2 {
		t.Fatalf("Jobs = %+v, %v", list, err)
	}
	req := f.lastRequest()
	if req.Path != "/api/jobs" || req.Query.Get("status") != "pending,completed" || req.Query.Get("limit") != "10" {
		t.Errorf("sent %s?%s", req.Path, req.Query.Encode())
	}

	f.respond(capturedResponse{Status: 404, ContentType: "application/json", Body: readTestdata(t, "synthetic/job-not-found.json")})
	if _, err := c.Job(ctx, "x"); !errors.Is(err, ErrNotFound) || errors.Is(err, ErrNotSupported) {
		t.Errorf("unknown job err = %v, want ErrNotFound only", err)
	}

	old := findResponse(t, "18-get-nonexistent") // aiohttp's 404 for an unknown route
	calls := map[string]func() error{
		"list":        func() error { _, err := c.Jobs(ctx, JobQuery{}); return err },
		"get":         func() error { _, err := c.Job(ctx, "x"); return err },
		"cancel":      func() error { _, err := c.CancelJob(ctx, "x"); return err },
		"cancel many": func() error { _, err := c.CancelJobs(ctx, "x"); return err },
	}
	for name, call := range calls {
		f.respond(old)
		if err := call(); !errors.Is(err, ErrNotSupported) {
			t.Errorf("%s on old server: err = %v, want ErrNotSupported", name, err)
		}
	}

	f.respond(capturedResponse{Status: 200, ContentType: "application/json", Body: []byte(`{"cancelled": true}`)})
	if ok, err := c.CancelJob(ctx, "a/b"); err != nil || !ok || f.lastRequest().Path != "/api/jobs/a/b/cancel" {
		t.Errorf("CancelJob = %v, %v, path %s", ok, err, f.lastRequest().Path)
	}
}

func TestClientOptions(t *testing.T) {
	t.Parallel()
	f := newFakeComfy(t)
	f.respond(findResponse(t, "18-get-prompt"))
	c, err := NewClient(f.srv.URL+"/comfy/", WithHTTPClient(f.srv.Client()), WithAPIPrefix(true),
		WithHeader("Authorization", "Bearer t"), WithHeader("Origin", "http://evil.example"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.PromptInfo(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	req := f.lastRequest()
	if req.Path != "/comfy/api/prompt" || req.Header.Get("Authorization") != "Bearer t" {
		t.Errorf("sent %s with headers %v", req.Path, req.Header)
	}
}

func TestBodyLimit(t *testing.T) {
	t.Parallel()
	f := newFakeComfy(t)
	f.respond(findResponse(t, "11-get-system-stats"))
	_, err := f.client(WithMaxBodySize(100)).SystemStats(testCtx(t))
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("err = %v, want ErrTooLarge", err)
	}
}

func TestMalformedBody(t *testing.T) {
	t.Parallel()
	f := newFakeComfy(t)
	f.respond(capturedResponse{Status: 200, ContentType: "application/json", Body: []byte(`{"queue_running": {}}`)})
	if _, err := f.client().Queue(testCtx(t)); !errors.Is(err, ErrMalformed) {
		t.Fatalf("err = %v, want ErrMalformed", err)
	}
}

func TestCancelledContext(t *testing.T) {
	t.Parallel()
	f := newFakeComfy(t)
	f.respond(findResponse(t, "18-get-prompt"))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := f.client().PromptInfo(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func TestNewClientErrors(t *testing.T) {
	t.Parallel()
	for _, raw := range []string{"", "127.0.0.1:8188", "http://", "http://[::1"} {
		if _, err := NewClient(raw); err == nil {
			t.Errorf("NewClient(%q) succeeded", raw)
		}
	}
	c, err := NewClient("http://h:1/x/", WithHTTPClient(http.DefaultClient))
	if err != nil || c.BaseURL().String() != "http://h:1/x" {
		t.Errorf("BaseURL = %v, %v", c.BaseURL(), err)
	}
}

func TestNonFiniteNumbersInBody(t *testing.T) {
	t.Parallel()
	f := newFakeComfy(t)
	f.respond(capturedResponse{Status: 200, ContentType: "application/json", Body: []byte(
		`{"X": {"input": {"required": {"v": ["FLOAT", {"default": NaN, "max": Infinity}]}}, "output": [], "output_is_list": [], "output_name": [], "name": "X", "display_name": "X", "description": "", "python_module": "custom_nodes.x", "category": "c", "output_node": false}}`)})
	def, err := f.client().NodeInfo(testCtx(t), "X")
	if err != nil {
		t.Fatal(err)
	}
	if got := string(def.Input.Required[0].Options()); got != `{"default": null, "max": null}` {
		t.Errorf("options %s", got)
	}
}
