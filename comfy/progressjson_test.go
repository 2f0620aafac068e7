package comfy

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// capturedProgressStates are the data of the progress_state messages a real
// ComfyUI sent in the captures.
func capturedProgressStates(tb testing.TB) [][]byte {
	tb.Helper()
	files, _ := filepath.Glob("testdata/ws-*.jsonl")
	var out [][]byte
	for _, file := range files {
		for _, line := range readLines(tb, filepath.Base(file)) {
			var m Message
			if json.Unmarshal(line, &m) == nil && m.Type == EventProgressState {
				out = append(out, m.Data)
			}
		}
	}
	if len(out) == 0 {
		tb.Fatal("no progress_state in the captures")
	}
	return out
}

// reflectEncode is EncodeMessage's encoding of p through encoding/json.
func reflectEncode(tb testing.TB, p ProgressState) ([]byte, error) {
	tb.Helper()
	return json.Marshal(struct {
		Type string `json:"type"`
		Data any    `json:"data"`
	}{EventProgressState, p})
}

// What a real ComfyUI sends takes both fast paths, and they agree with
// encoding/json.
func TestCapturedProgressStatesTakeTheFastPaths(t *testing.T) {
	t.Parallel()
	for _, data := range capturedProgressStates(t) {
		fast, ok := decodeProgressState(data)
		if !ok {
			t.Fatalf("%.120s: not on the fast decode path", data)
		}
		var want ProgressState
		if err := json.Unmarshal(data, &want); err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(want, fast); d != "" {
			t.Fatalf("fast decode differs (-encoding/json +fast):\n%s", d)
		}
		enc, ok := appendProgressState(nil, fast)
		if !ok {
			t.Fatalf("%.120s: not on the fast encode path", data)
		}
		if ref, err := reflectEncode(t, fast); err != nil || !bytes.Equal(enc, ref) {
			t.Fatalf("fast encode differs:\n%s\n%s (%v)", enc, ref, err)
		}
	}
}

// Shapes the fast decoder does not read exactly as encoding/json would go
// to encoding/json.
func TestProgressStateFastDecodeLeavesOtherShapes(t *testing.T) {
	t.Parallel()
	for name, data := range map[string]string{
		"duplicate node":       `{"prompt_id": "p", "nodes": {"1": {"value": 1}, "1": {"max": 2}}}`,
		"duplicate nodes key":  `{"nodes": {"1": {}}, "nodes": {"2": {}}}`,
		"duplicate field":      `{"nodes": {"1": {"value": 1, "value": 2}}}`,
		"key case":             `{"Prompt_ID": "p", "nodes": {}}`,
		"unknown field":        `{"nodes": {"1": {"extra": 1}}}`,
		"escaped string":       `{"prompt_id": "a\"b", "nodes": {}}`,
		"non-ASCII":            `{"prompt_id": "é", "nodes": {}}`,
		"number as string":     `{"nodes": {"1": {"value": "1"}}}`,
		"null nodes":           `{"prompt_id": "p", "nodes": null}`,
		"null state":           `{"nodes": {"1": {"state": null}}}`,
		"leading zero":         `{"nodes": {"1": {"value": 01}}}`,
		"trailing comma":       `{"nodes": {"1": {"value": 1,}}}`,
		"trailing bytes":       `{"nodes": {}} {}`,
		"node not an object":   `{"nodes": {"1": 1}}`,
		"not an object at all": `[]`,
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if p, ok := decodeProgressState([]byte(data)); ok {
				t.Fatalf("took the fast path: %#v", p)
			}
		})
	}
}

// Values the fast encoder cannot write as encoding/json does go to
// encoding/json, and come out as it writes them.
func TestProgressStateFastEncodeLeavesOtherValues(t *testing.T) {
	t.Parallel()
	parent := "<p>"
	for name, p := range map[string]ProgressState{
		"html in a string":  {PromptID: "a<b"},
		"quote in a key":    {Nodes: map[string]NodeProgress{`"`: {}}},
		"non-ASCII":         {Nodes: map[string]NodeProgress{"1": {State: "é"}}},
		"escaped parent":    {Nodes: map[string]NodeProgress{"1": {ParentNodeID: &parent}}},
		"not a number":      {Nodes: map[string]NodeProgress{"1": {Value: "1e"}}},
		"number with space": {Nodes: map[string]NodeProgress{"1": {Max: " 1"}}},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if b, ok := appendProgressState(nil, p); ok {
				t.Fatalf("took the fast path: %s", b)
			}
			got, gotErr := EncodeMessage(p)
			want, wantErr := reflectEncode(t, p)
			if (gotErr == nil) != (wantErr == nil) || !bytes.Equal(got, want) {
				t.Fatalf("EncodeMessage: %s (%v), encoding/json: %s (%v)", got, gotErr, want, wantErr)
			}
		})
	}
}

// Whatever the fast decoder reads, encoding/json reads the same; whatever
// encoding/json reads, the fast encoder writes as encoding/json does or
// leaves to it.
func FuzzProgressStateFastPaths(f *testing.F) {
	for _, data := range capturedProgressStates(f) {
		f.Add(data)
	}
	f.Add([]byte(`{"prompt_id": "p", "nodes": {"2": {"value": -0.5e+3, "max": 1E2, "parent_node_id": "1"}, "10": {}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var want ProgressState
		wantErr := json.Unmarshal(data, &want)
		if fast, ok := decodeProgressState(data); ok {
			if wantErr != nil {
				t.Fatalf("the fast path read %q, encoding/json refused it: %v", data, wantErr)
			}
			if d := cmp.Diff(want, fast); d != "" {
				t.Fatalf("%q: fast decode differs (-encoding/json +fast):\n%s", data, d)
			}
		}
		if wantErr != nil {
			return
		}
		if enc, ok := appendProgressState(nil, want); ok {
			if ref, err := reflectEncode(t, want); err != nil || !bytes.Equal(enc, ref) {
				t.Fatalf("fast encode differs:\n%s\n%s (%v)", enc, ref, err)
			}
		}
	})
}
