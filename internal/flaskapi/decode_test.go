package flaskapi

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
)

func TestDecodeRunRequest(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		body    string
		want    runRequest
		wantErr string // substring of the 400's message
	}{
		{name: "simple", body: `{"prompt": "fox"}`, want: runRequest{simple: true, prompt: "fox"}},
		{name: "simple with target", body: `{"prompt": "fox", "target_node": "6"}`, want: runRequest{simple: true, prompt: "fox", target: "6"}},
		{name: "integer target", body: `{"prompt": "", "target_node": 12}`, want: runRequest{simple: true, target: "12"}},
		{name: "empty target is none", body: `{"prompt": "x", "target_node": ""}`, want: runRequest{simple: true, prompt: "x"}},
		{name: "other keys ignored", body: `{"prompt": "x", "6": {"inputs": {}}}`, want: runRequest{simple: true, prompt: "x"}},
		{name: "repeated key keeps last", body: `{"prompt": "a", "prompt": "b"}`, want: runRequest{simple: true, prompt: "b"}},
		{name: "advanced", body: `{"6": {"inputs": {"text": "a", "n": 1.5}}, "3": {"seed": 1}}`, want: runRequest{overrides: map[string]map[string]any{
			"6": {"text": "a", "n": json.Number("1.5")},
			"3": {"seed": json.Number("1")}}}},
		{name: "advanced empty", body: ` {} `, want: runRequest{overrides: map[string]map[string]any{}}},
		{name: "fractional target", body: `{"prompt": "x", "target_node": 1.5}`, wantErr: "target_node: must be a node id"},
		{name: "object target", body: `{"prompt": "x", "target_node": {}}`, wantErr: "target_node: must be a node id"},
		{name: "null prompt", body: `{"prompt": null}`, wantErr: "prompt: must be a string, not null"},
		{name: "array prompt", body: `{"prompt": ["a"]}`, wantErr: "prompt: must be a string, not an array"},
		{name: "node not object", body: `{"6": 1}`, wantErr: "6: must be an object of inputs"},
		{name: "null inputs", body: `{"6": {"inputs": null}}`, wantErr: "6.inputs: must be an object, not null"},
		{name: "empty", body: "  \n", wantErr: "the request body is empty"},
		{name: "not an object", body: `"fox"`, wantErr: "Invalid request format"},
		{name: "null body", body: `null`, wantErr: "Invalid request format"},
		{name: "syntax", body: `{"prompt" "x"}`, wantErr: "Invalid JSON format: invalid character"},
		{name: "truncated", body: `{"6": {"inputs": {`, wantErr: "ends inside a value (after 18 bytes)"},
		{name: "two values", body: `{}[]`, wantErr: "unexpected data after the JSON value (byte offset 2)"},
		{name: "invalid utf8 is kept", body: "{\"prompt\": \"\xff\"}", want: runRequest{simple: true, prompt: "\ufffd"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := decodeRunRequest([]byte(tc.body))
			if tc.wantErr != "" {
				var e *Error
				if !errors.As(err, &e) || e.Status != http.StatusBadRequest || !strings.Contains(e.Message, tc.wantErr) {
					t.Fatalf("err = %v, want a 400 containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(runRequest{})); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestIsJSON(t *testing.T) {
	t.Parallel()
	for ct, want := range map[string]bool{
		"application/json": true, "application/json; charset=utf-8": true, "Application/JSON": true,
		"application/vnd.api+json": true, "": false, "text/plain": false, "application/x-www-form-urlencoded": false,
		"multipart/form-data; boundary=x": false, "application/jsonx": false, "application/json;;": false,
	} {
		if got := isJSON(ct); got != want {
			t.Errorf("isJSON(%q) = %v, want %v", ct, got, want)
		}
	}
}

// FuzzDecodeRunRequest: any body decodes or fails with a 400 that has a
// message; nothing panics, and a success is one of the two forms.
func FuzzDecodeRunRequest(f *testing.F) {
	for _, seed := range []string{
		`{"prompt": "fox"}`, `{"prompt": "fox", "target_node": 6}`, `{"6": {"inputs": {"text": "a"}}}`,
		`{"3": {"seed": 18446744073709551615}}`, `{}`, `[]`, `null`, `{"prompt": `, `{"6": {"inputs": [1]}}`,
		"{\"prompt\": \"\xff\"}", `{"a": {"inputs": {"b": {"c": [1, {"d": null}]}}}}`, ` {"prompt": "x"} x`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := decodeRunRequest(body)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Status != http.StatusBadRequest || e.Message == "" {
				t.Fatalf("err = %#v, want a 400 with a message", err)
			}
			return
		}
		if req.simple == (req.overrides != nil) {
			t.Fatalf("decoded %+v: want exactly one of the two forms", req)
		}
		if req.simple && !utf8.ValidString(req.prompt) {
			t.Fatalf("prompt %q is not valid UTF-8", req.prompt)
		}
		for id, inputs := range req.overrides {
			if inputs == nil {
				t.Fatalf("node %q: nil inputs", id)
			}
		}
	})
}
