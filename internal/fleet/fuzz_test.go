package fleet

import (
	"encoding/json"
	"testing"
)

// Graphs come from callers; the decoders here must never panic on them.

func FuzzRequirements(f *testing.F) {
	f.Add([]byte(testGraph("a.safetensors", "l.safetensors")))
	f.Add([]byte(`{"1": {"class_type": "LoadImage", "inputs": {"image": "comfygate/` + hex64 + `.png"}}}`))
	f.Add([]byte(`{"1": null, "2": {"inputs": [1, 2]}}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		req, err := requirementsFromJSON(data)
		if err != nil {
			return
		}
		for _, m := range req.Models {
			if m.Name == "" {
				t.Errorf("empty model name in %+v", m)
			}
		}
		for _, in := range req.Inputs {
			if len(in.Hash) != 64 {
				t.Errorf("staged input with hash %q", in.Hash)
			}
		}
	})
}

func FuzzBustCache(f *testing.F) {
	f.Add([]byte(testGraph("a.safetensors", "l.safetensors")))
	f.Add([]byte(`{"1": {"class_type": "X", "inputs": {"a": ["1", 0]}}}`))
	f.Add([]byte(`{"1": {"inputs": null}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		out := bustCache(data, "nonce")
		if json.Valid(data) && !json.Valid(out) {
			t.Errorf("valid graph %s became invalid JSON %s", data, out)
		}
	})
}
