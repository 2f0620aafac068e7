package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/comfygate/comfygate/api"
	"github.com/comfygate/comfygate/internal/httpapi"
	"github.com/comfygate/comfygate/internal/httpapi/httpapitest"
)

func docWorkflows() []api.Workflow {
	return []api.Workflow{
		{Name: "txt2img", Version: "3f2a", Params: []api.Param{
			{Name: "prompt", Target: "6.inputs.text", Type: "string", Default: "a cat"},
			{Name: "steps", Target: "3.inputs.steps", Type: "integer", Default: 20, Minimum: 1, Maximum: 150},
		}, Schema: map[string]any{
			"type": "object", "additionalProperties": false,
			"properties": map[string]any{
				"prompt": map[string]any{"type": "string", "default": "a cat"},
				"steps":  map[string]any{"type": "integer", "default": 20, "minimum": 1, "maximum": 150},
			},
		}},
		{Name: "upscale.v2", Version: "9b1c", Params: []api.Param{{Name: "image", Target: "1.inputs.image", Type: "image"}},
			Schema: map[string]any{"type": "object", "required": []any{"image"}, "properties": map[string]any{"image": map[string]any{"type": "string"}}}},
	}
}

func TestOpenAPIDocument(t *testing.T) {
	t.Parallel()
	s, ts := start(t, &httpapitest.Service{ListWorkflowsFunc: func(context.Context, string) ([]api.Workflow, error) { return docWorkflows(), nil }},
		httpapi.Config{Version: "1.0.0-test"})
	res := do(t, ts, "GET", "/openapi.json", nil)
	if res.status != 200 || res.header.Get("Content-Type") != "application/json" {
		t.Fatalf("%d %s", res.status, res.header.Get("Content-Type"))
	}
	validateOAS31(t, res.body)
	var doc map[string]any
	if err := json.Unmarshal(res.body, &doc); err != nil {
		t.Fatal(err)
	}
	if v, _ := doc["openapi"].(string); !strings.HasPrefix(v, "3.1.") {
		t.Errorf("openapi = %q, want 3.1.x", v)
	}
	paths := doc["paths"].(map[string]any)
	for _, pattern := range httpapi.RoutePatterns(s) {
		method, path, _ := strings.Cut(pattern, " ")
		if path == "/docs/{$}" {
			continue // a redirect to /docs
		}
		item, _ := paths[path].(map[string]any)
		if item[strings.ToLower(method)] == nil {
			t.Errorf("route %s is not documented", pattern)
		}
	}
	checkRefs(t, doc)
	schemas := doc["components"].(map[string]any)["schemas"].(map[string]any)
	for _, name := range []string{"WorkflowParams_txt2img", "RunWorkflow_txt2img", "WorkflowParams_upscale.v2", "RunWorkflow_upscale.v2"} {
		if schemas[name] == nil {
			t.Errorf("no component schema %s", name)
		}
	}
	// Each workflow's schema is attached to an operation that is served.
	for _, name := range []string{"txt2img", "upscale.v2"} {
		op, _ := paths["/v1/workflows/"+name+"/jobs"].(map[string]any)["post"].(map[string]any)
		body, _ := op["requestBody"].(map[string]any)
		schema, _ := body["content"].(map[string]any)["application/json"].(map[string]any)["schema"].(map[string]any)
		if schema["$ref"] != "#/components/schemas/RunWorkflow_"+name || op["operationId"] != "runWorkflow_"+name {
			t.Errorf("operation of workflow %s = %v", name, op)
		}
	}
	checkWorkflowRequest(t, schemas)
	checkGolden(t, "openapi.golden.json", res.body)
}

// checkWorkflowRequest: the document describes the parameter spec the
// server takes, a mapping from name to ParamSpec (not a list), with the
// spec's fields written down.
func checkWorkflowRequest(t *testing.T, schemas map[string]any) {
	t.Helper()
	req, _ := schemas["WorkflowRequest"].(map[string]any)
	params, _ := req["properties"].(map[string]any)["params"].(map[string]any)
	items, _ := params["additionalProperties"].(map[string]any)
	if params["type"] != "object" || items["$ref"] != "#/components/schemas/ParamSpec" {
		t.Errorf("WorkflowRequest.params = %v, want an object of ParamSpec", params)
	}
	spec, _ := schemas["ParamSpec"].(map[string]any)
	props, _ := spec["properties"].(map[string]any)
	for _, field := range []string{"target", "type", "default", "minimum", "maximum", "min", "max", "step", "enum", "description"} {
		prop, _ := props[field].(map[string]any)
		if d, _ := prop["description"].(string); d == "" {
			t.Errorf("ParamSpec.%s is missing or undescribed: %v", field, prop)
		}
	}
	if got := props["minimum"].(map[string]any)["type"]; got != "number" {
		t.Errorf("ParamSpec.minimum type = %v, want number", got)
	}
}

// validateOAS31 checks doc against the OpenAPI Initiative's JSON Schema of
// OpenAPI 3.1 ("schema-base": schema objects are checked as JSON Schema
// 2020-12 too). The schema files are in testdata/oas31 (see README there).
func validateOAS31(t *testing.T, doc []byte) {
	t.Helper()
	c := jsonschema.NewCompiler()
	for file, id := range map[string]string{
		"schema.json":       "https://spec.openapis.org/oas/3.1/schema/2021-04-15",
		"schema-base.json":  "https://spec.openapis.org/oas/3.1/schema-base/2021-04-15",
		"dialect-base.json": "https://spec.openapis.org/oas/3.1/dialect/base",
		"meta-base.json":    "https://spec.openapis.org/oas/3.1/meta/base",
	} {
		f, err := os.Open(filepath.Join("testdata", "oas31", file))
		if err != nil {
			t.Fatal(err)
		}
		v, err := jsonschema.UnmarshalJSON(f)
		f.Close()
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if err := c.AddResource(id, v); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
	}
	sch, err := c.Compile("https://spec.openapis.org/oas/3.1/schema-base/2021-04-15")
	if err != nil {
		t.Fatalf("compile the OpenAPI 3.1 schema: %v", err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		t.Fatal(err)
	}
	if err := sch.Validate(inst); err != nil {
		t.Errorf("the document is not valid OpenAPI 3.1:\n%v", err)
	}
}

// checkRefs fails on any $ref that points at no component.
func checkRefs(t *testing.T, doc map[string]any) {
	t.Helper()
	schemas := doc["components"].(map[string]any)["schemas"].(map[string]any)
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			if ref, ok := v["$ref"].(string); ok {
				name, found := strings.CutPrefix(ref, "#/components/schemas/")
				if !found || schemas[name] == nil {
					t.Errorf("dangling $ref %q", ref)
				}
			}
			for _, x := range v {
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(doc)
}

func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, got, "", "  "); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, pretty.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), pretty.String()); diff != "" {
		t.Errorf("%s differs (-want +got; run with -update if intended):\n%s", path, diff)
	}
}

func TestOpenAPIRefresh(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	wfs := docWorkflows()[:1]
	svc := &httpapitest.Service{
		ListWorkflowsFunc: func(context.Context, string) ([]api.Workflow, error) {
			calls.Add(1)
			return wfs, nil
		},
		PutWorkflowFunc: func(_ context.Context, _, name string, _ []byte) (api.Workflow, bool, error) {
			wfs = append(wfs, api.Workflow{Name: name, Schema: map[string]any{"type": "object"}})
			return wfs[len(wfs)-1], true, nil
		},
	}
	_, ts := start(t, svc, httpapi.Config{OpenAPICacheTTL: 1 << 62})
	first := do(t, ts, "GET", "/openapi.json", nil)
	if again := do(t, ts, "GET", "/openapi.json", nil, "If-None-Match", first.header.Get("ETag")); again.status != 304 {
		t.Errorf("conditional GET: %d, want 304", again.status)
	}
	if calls.Load() != 1 {
		t.Errorf("workflows listed %d times within the TTL, want 1", calls.Load())
	}
	doJSON(t, ts, "PUT", "/v1/workflows/inpaint", `{"graph":{}}`)
	after := do(t, ts, "GET", "/openapi.json", nil)
	if !bytes.Contains(after.body, []byte(`"WorkflowParams_inpaint"`)) || after.header.Get("ETag") == first.header.Get("ETag") {
		t.Errorf("the document did not pick up the new workflow")
	}
}
