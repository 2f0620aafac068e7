package comfy

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var testPrompt = json.RawMessage(`{"1": {"class_type": "KSampler", "inputs": {"seed": 18446744073709551615}}}`)

func TestQueuePromptAccepted(t *testing.T) {
	t.Parallel()
	f := newFakeComfy(t)
	f.respond(findResponse(t, "02-post-prompt"))
	resp, err := f.client().QueuePrompt(testCtx(t), PromptRequest{Prompt: testPrompt, ClientID: "c1", ExtraData: json.RawMessage(`{"extra_pnginfo": {}}`)})
	if err != nil {
		t.Fatal(err)
	}
	want := PromptResponse{PromptID: "010cb779-a4ee-46c4-9c50-232a936d599b", Number: "1", NodeErrors: map[string]NodeError{}}
	if diff := cmp.Diff(want, resp); diff != "" {
		t.Errorf("response (-want +got):\n%s", diff)
	}
	if resp.PartiallyValid() {
		t.Error("PartiallyValid with empty node_errors")
	}
	req := f.lastRequest()
	// RawMessage is compacted by encoding/json, but the seed stays exact.
	wantBody := `{"prompt":{"1":{"class_type":"KSampler","inputs":{"seed":18446744073709551615}}},"client_id":"c1","extra_data":{"extra_pnginfo":{}}}`
	if req.Method != "POST" || req.Path != "/prompt" || bodyOf(req) != wantBody {
		t.Errorf("sent %s %s %s\nwant body %s", req.Method, req.Path, req.Body, wantBody)
	}
}

func TestPromptRequestEncoding(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		req  PromptRequest
		want string
	}{
		{"minimal", PromptRequest{Prompt: json.RawMessage(`{}`)}, `{"prompt":{}}`},
		{"all fields", PromptRequest{Prompt: json.RawMessage(`{}`), ClientID: "c", PromptID: "p", Number: "7.5", Front: true,
			ExtraData: json.RawMessage(`{"a":1}`), PartialExecutionTargets: []string{"9"}},
			`{"prompt":{},"client_id":"c","prompt_id":"p","number":7.5,"front":true,"extra_data":{"a":1},"partial_execution_targets":["9"]}`},
		{"empty targets are sent", PromptRequest{Prompt: json.RawMessage(`{}`), PartialExecutionTargets: []string{}}, `{"prompt":{},"partial_execution_targets":[]}`},
		{"negative number", PromptRequest{Prompt: json.RawMessage(`{}`), Number: "-40"}, `{"prompt":{},"number":-40}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := json.Marshal(tt.req)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestQueuePromptPartiallyValid(t *testing.T) {
	t.Parallel()
	f := newFakeComfy(t)
	f.respond(findResponse(t, "10-post-prompt-one-output-valid-one-invalid"))
	resp, err := f.client().QueuePrompt(testCtx(t), PromptRequest{Prompt: testPrompt})
	if err != nil {
		t.Fatal(err)
	}
	if !resp.PartiallyValid() || resp.Number != "33" {
		t.Fatalf("resp = %+v, want partially valid number 33", resp)
	}
	ne := resp.NodeErrors["6"]
	if ne.ClassType != "ImageInvert" || len(ne.Errors) != 1 || ne.Errors[0].Type != "exception_during_inner_validation" {
		t.Errorf("node_errors[6] = %+v", ne)
	}
	if diff := cmp.Diff([]string{"5"}, ne.DependentOutputs); diff != "" {
		t.Errorf("dependent_outputs (-want +got):\n%s", diff)
	}
	if got := ne.Errors[0].ExtraInfo["linked_node"]; !cmp.Equal(got, []any{"6", json.Number("0")}) {
		t.Errorf("extra_info.linked_node = %#v, want numbers as json.Number", got)
	}
}

// TestQueuePromptRejected runs every captured non-200 POST /prompt answer
// through the client.
func TestQueuePromptRejected(t *testing.T) {
	t.Parallel()
	n := 0
	for _, r := range loadResponses(t) {
		if r.Route() != "/prompt" || r.Method != "POST" || r.Status == 200 {
			continue
		}
		n++
		t.Run(r.Name, func(t *testing.T) {
			t.Parallel()
			f := newFakeComfy(t)
			f.respond(r)
			_, err := f.client().QueuePrompt(testCtx(t), PromptRequest{Prompt: testPrompt})
			if strings.HasPrefix(r.ContentType, "application/json") {
				assertPromptError(t, r, err)
				return
			}
			var he *HTTPError
			if !errors.As(err, &he) || he.Status != r.Status || he.Body != string(r.Body) {
				t.Fatalf("err = %#v, want *HTTPError %d with the captured body", err, r.Status)
			}
		})
	}
	if n < 15 {
		t.Fatalf("only %d rejected prompts in testdata", n)
	}
}

func assertPromptError(t *testing.T, r capturedResponse, err error) {
	t.Helper()
	var pe *PromptError
	if !errors.As(err, &pe) {
		t.Fatalf("err = %v, want *PromptError", err)
	}
	var want PromptErrorBody
	if err := json.Unmarshal(r.Body, &want); err != nil {
		t.Fatal(err)
	}
	if pe.Status != r.Status || pe.Info.Type == "" || pe.Info.Type != want.Error.Type {
		t.Errorf("status %d type %q, want %d %q", pe.Status, pe.Info.Type, r.Status, want.Error.Type)
	}
	if len(pe.NodeErrors) != len(want.NodeErrors) {
		t.Errorf("%d node errors, want %d", len(pe.NodeErrors), len(want.NodeErrors))
	}
	out, err := json.Marshal(pe.Body())
	if err != nil {
		t.Fatal(err)
	}
	assertSameJSON(t, r.Body, out)
}

func TestQueuePromptNodeErrorTypes(t *testing.T) {
	t.Parallel()
	tests := []struct{ capture, node, class, errType string }{
		{"10-post-prompt-missing-required-input", "3", "ImageScale", "required_input_missing"},
		{"10-post-prompt-link-type-mismatch", "", "", "return_type_mismatch"},
		{"10-post-prompt-value-below-min", "", "", "value_smaller_than_min"},
		{"10-post-prompt-value-not-in-combo-list", "", "", "value_not_in_list"},
		{"10-post-prompt-value-wrong-type", "", "", "invalid_input_type"},
		{"10-post-prompt-loadimage-missing-file", "", "", "custom_validation_failed"},
		{"10-post-prompt-link-to-missing-node", "", "", "exception_during_inner_validation"},
	}
	f := newFakeComfy(t)
	for _, tt := range tests {
		f.respond(findResponse(t, tt.capture))
		_, err := f.client().QueuePrompt(testCtx(t), PromptRequest{Prompt: testPrompt})
		var pe *PromptError
		if !errors.As(err, &pe) || pe.Info.Type != "prompt_outputs_failed_validation" {
			t.Fatalf("%s: err = %v", tt.capture, err)
		}
		var types []string
		for id, ne := range pe.NodeErrors {
			if tt.node != "" && (id != tt.node || ne.ClassType != tt.class) {
				t.Errorf("%s: node %s class %s, want %s %s", tt.capture, id, ne.ClassType, tt.node, tt.class)
			}
			for _, e := range ne.Errors {
				types = append(types, e.Type)
			}
		}
		if !strings.Contains(strings.Join(types, ","), tt.errType) {
			t.Errorf("%s: error types %v, want %s", tt.capture, types, tt.errType)
		}
	}
}

func TestQueuePromptStringError(t *testing.T) {
	t.Parallel()
	f := newFakeComfy(t)
	f.respond(capturedResponse{Status: 400, ContentType: "application/json", Body: readTestdata(t, "synthetic/prompt-400-string-error.json")})
	_, err := f.client().QueuePrompt(testCtx(t), PromptRequest{Prompt: testPrompt})
	var pe *PromptError
	if !errors.As(err, &pe) || pe.Info.Message != "Prompt is too large for this proxy" {
		t.Fatalf("err = %#v", err)
	}
}

func TestQueuePromptEmpty(t *testing.T) {
	t.Parallel()
	c, err := NewClient("http://127.0.0.1:1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.QueuePrompt(testCtx(t), PromptRequest{}); err == nil || !strings.Contains(err.Error(), "prompt is empty") {
		t.Fatalf("err = %v", err)
	}
}

func TestHistoryOrderAndQuery(t *testing.T) {
	t.Parallel()
	tests := []struct {
		capture   string
		query     HistoryQuery
		wantQuery string
	}{
		{"05-get-history-max-items-2", HistoryQuery{MaxItems: 2}, "max_items=2"},
		{"05-get-history-max-items-1-offset-0", HistoryQuery{MaxItems: 1, Offset: ptr(0)}, "max_items=1&offset=0"},
		{"05-get-history-all", HistoryQuery{}, ""},
	}
	f := newFakeComfy(t)
	for _, tt := range tests {
		t.Run(tt.capture, func(t *testing.T) {
			r := findResponse(t, tt.capture)
			f.respond(r)
			h, err := f.client().History(testCtx(t), tt.query)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(topLevelKeys(t, r.Body), historyIDs(h)); diff != "" {
				t.Errorf("order (-captured +decoded):\n%s", diff)
			}
			if got := f.lastRequest().Query.Encode(); got != tt.wantQuery {
				t.Errorf("query %q, want %q", got, tt.wantQuery)
			}
		})
	}
}

func topLevelKeys(tb testing.TB, body []byte) []string {
	var keys []string
	toks := jsonTokens(tb, body)
	depth := 0
	for i, tok := range toks {
		switch tok {
		case "{", "[":
			depth++
		case "}", "]":
			depth--
		default:
			if s, ok := tok.(string); ok && depth == 1 && i > 0 && (toks[i-1] == "{" || toks[i-1] == "}" || toks[i-1] == "]") {
				keys = append(keys, s)
			}
		}
	}
	return keys
}

func historyIDs(h History) []string {
	var out []string
	for _, it := range h {
		out = append(out, it.PromptID)
	}
	return out
}

func TestPromptHistory(t *testing.T) {
	t.Parallel()
	f := newFakeComfy(t)
	f.respond(findResponse(t, "02-get-history-id"))
	e, err := f.client().PromptHistory(testCtx(t), "010cb779-a4ee-46c4-9c50-232a936d599b")
	if err != nil {
		t.Fatal(err)
	}
	files, err := NodeOutputFiles(e.Outputs["4"])
	if err != nil {
		t.Fatal(err)
	}
	want := []OutputFile{{Kind: "images", FileRef: FileRef{Filename: "basic_00001_.png", Subfolder: "fixture", Type: FileTypeOutput}}}
	if diff := cmp.Diff(want, files); diff != "" {
		t.Errorf("files (-want +got):\n%s", diff)
	}
	if e.Status.Outcome() != EventExecutionSuccess || !e.Status.Completed || e.Meta["4"].RealNodeID != "4" {
		t.Errorf("entry status %+v meta %+v", e.Status, e.Meta)
	}
	if got := f.lastRequest().Path; got != "/history/010cb779-a4ee-46c4-9c50-232a936d599b" {
		t.Errorf("path %s", got)
	}

	f.respond(findResponse(t, "05-get-history-id-unknown-id"))
	if _, err := f.client().PromptHistory(testCtx(t), "00000000-0000-0000-0000-000000000000"); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown id: err = %v, want ErrNotFound", err)
	}
}

func TestQueueSortedByClient(t *testing.T) {
	t.Parallel()
	f := newFakeComfy(t)
	f.respond(findResponse(t, "15-get-queue-pending-list-is-the-raw-heap-not-sorted"))
	q, err := f.client().Queue(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	var nums []string
	for _, it := range q.Pending {
		nums = append(nums, string(it.Number))
	}
	if diff := cmp.Diff([]string{"-40", "7.5", "39"}, nums); diff != "" {
		t.Errorf("run order (-want +got):\n%s", diff)
	}
}
