package httpapi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/comfygate/comfygate/api"
)

// openAPIDoc serves the document: the static part reflected from the api
// types on first use (it takes ~100 ms, which New should not pay), plus a
// parameter schema and an example per shared workflow (one document for
// every caller: a key's own workflows stay its own), rebuilt at most once
// per TTL or when a workflow changes here.
type openAPIDoc struct {
	version string
	list    func(context.Context) ([]api.Workflow, error)
	ttl     time.Duration
	now     func() time.Time
	log     *slog.Logger

	mu      sync.Mutex // guards the fields below
	static  []byte
	cached  []byte
	etag    string
	expires time.Time
}

func newOpenAPIDoc(s *Server) *openAPIDoc {
	// Owner "" is no key's: the service answers with the shared workflows.
	shared := func(ctx context.Context) ([]api.Workflow, error) { return s.svc.ListWorkflows(ctx, "") }
	return &openAPIDoc{version: s.cfg.Version, list: shared, ttl: s.cfg.OpenAPICacheTTL,
		now: s.cfg.Now, log: s.log}
}

// staticDoc builds the reflected part once; d.mu must be held.
func (d *openAPIDoc) staticDoc() ([]byte, error) {
	if d.static != nil {
		return d.static, nil
	}
	spec, err := buildSpec(d.version)
	if err != nil {
		return nil, fmt.Errorf("build openapi document: %w", err)
	}
	if d.static, err = json.Marshal(spec); err != nil {
		return nil, fmt.Errorf("encode openapi document: %w", err)
	}
	return d.static, nil
}

func (d *openAPIDoc) invalidate() {
	d.mu.Lock()
	d.expires = time.Time{}
	d.mu.Unlock()
}

// render returns the current document and its ETag. When the workflows
// cannot be read, the static document is served (and not cached): the docs
// must not go dark because the store is slow.
func (d *openAPIDoc) render(ctx context.Context) ([]byte, string, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	now := d.now()
	if d.cached != nil && now.Before(d.expires) {
		return d.cached, d.etag, nil
	}
	static, err := d.staticDoc()
	if err != nil {
		return nil, "", err
	}
	wfs, err := d.list(ctx)
	if err != nil {
		d.log.LogAttrs(ctx, slog.LevelWarn, "openapi: list workflows", slog.Any("err", err))
		return static, etagOf(static), nil
	}
	doc, err := withWorkflows(static, wfs)
	if err != nil {
		return nil, "", fmt.Errorf("openapi: add workflows: %w", err)
	}
	d.cached, d.etag, d.expires = doc, etagOf(doc), now.Add(d.ttl)
	return d.cached, d.etag, nil
}

func etagOf(data []byte) string {
	sum := sha256.Sum256(data)
	return `"` + hex.EncodeToString(sum[:12]) + `"`
}

func (s *Server) openAPI(w http.ResponseWriter, r *http.Request) error {
	doc, etag, err := s.doc.render(r.Context())
	if err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("ETag", etag)
	h.Set("Cache-Control", "no-cache")
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(doc))
	return nil
}

// withWorkflows adds, per stored workflow, the component schemas
// WorkflowParams_<name> (its parameter schema) and RunWorkflow_<name> (a
// run body with them), the operation POST /v1/workflows/<name>/jobs that
// takes that body, and an example on POST /v1/jobs.
func withWorkflows(static []byte, wfs []api.Workflow) ([]byte, error) {
	var doc map[string]any
	if err := json.Unmarshal(static, &doc); err != nil {
		return nil, err
	}
	schemas, err := objectAt(doc, "components", "schemas")
	if err != nil {
		return nil, err
	}
	content, err := objectAt(doc, "paths", "/v1/jobs", "post", "requestBody", "content", "application/json")
	if err != nil {
		return nil, err
	}
	paths, err := objectAt(doc, "paths")
	if err != nil {
		return nil, err
	}
	generic, err := json.Marshal(paths[runWorkflowPath].(map[string]any)["post"])
	if err != nil {
		return nil, err
	}
	examples := map[string]any{}
	for _, wf := range wfs {
		schemas["WorkflowParams_"+wf.Name] = paramsSchema(wf)
		schemas["RunWorkflow_"+wf.Name] = runSchema(wf.Name)
		op, err := workflowOperation(generic, wf)
		if err != nil {
			return nil, err
		}
		paths["/v1/workflows/"+wf.Name+"/jobs"] = map[string]any{"post": op}
		examples[wf.Name] = map[string]any{
			"summary": "Run workflow " + wf.Name,
			"value":   map[string]any{"workflow": wf.Name, "params": exampleParams(wf.Params)},
		}
	}
	if len(examples) > 0 {
		content["examples"] = examples
	}
	return json.Marshal(doc)
}

// runWorkflowPath is the generic operation each workflow's is made from.
const runWorkflowPath = "/v1/workflows/{name}/jobs"

// workflowOperation is the generic run operation (as JSON) made concrete
// for wf: its own id, its description, no {name} parameter, and a body
// typed with its parameters.
func workflowOperation(generic []byte, wf api.Workflow) (map[string]any, error) {
	var op map[string]any
	if err := json.Unmarshal(generic, &op); err != nil {
		return nil, err
	}
	op["operationId"] = "runWorkflow_" + wf.Name
	op["summary"] = "Run workflow " + wf.Name
	op["description"] = strings.TrimSpace(wf.Description + " Version " + wf.Version +
		"; the body's params follow WorkflowParams_" + wf.Name + ". Answers as POST /v1/jobs.")
	op["tags"] = []any{"workflows: run"}
	var params []any
	for _, p := range asList(op["parameters"]) {
		if m, _ := p.(map[string]any); m["in"] != "path" {
			params = append(params, p)
		}
	}
	op["parameters"] = params
	op["requestBody"] = map[string]any{"content": map[string]any{"application/json": map[string]any{
		"schema":  map[string]any{"$ref": "#/components/schemas/RunWorkflow_" + wf.Name},
		"example": map[string]any{"params": exampleParams(wf.Params)},
	}}}
	return op, nil
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}

// objectAt walks doc along keys, creating objects that are missing.
func objectAt(doc map[string]any, keys ...string) (map[string]any, error) {
	cur := doc
	for _, k := range keys {
		next, ok := cur[k]
		if !ok {
			next = map[string]any{}
			cur[k] = next
		}
		m, ok := next.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("openapi document: %q is not an object", k)
		}
		cur = m
	}
	return cur, nil
}

func paramsSchema(wf api.Workflow) map[string]any {
	s := map[string]any{"type": "object"}
	for k, v := range wf.Schema {
		s[k] = v
	}
	if _, ok := s["description"]; !ok {
		s["description"] = fmt.Sprintf("Parameters of workflow %s (version %s).", wf.Name, wf.Version)
	}
	return s
}

func runSchema(name string) map[string]any {
	return map[string]any{
		"description": "A run body for workflow " + name + ".",
		"allOf":       []any{map[string]any{"$ref": "#/components/schemas/RunWorkflowRequest"}},
		"properties": map[string]any{
			"params": map[string]any{"$ref": "#/components/schemas/WorkflowParams_" + name},
		},
	}
}

// exampleParams fills an example from the parameters' defaults.
func exampleParams(params []api.Param) map[string]any {
	out := map[string]any{}
	for _, p := range params {
		if p.Default != nil {
			out[p.Name] = p.Default
		}
	}
	return out
}
