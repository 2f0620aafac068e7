package server

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestComfySurfaceMounted: the ComfyUI-compatible surface answers on the
// process listener next to the REST API, its prompts are comfygate jobs,
// and paths nobody claims reach a backend.
func TestComfySurfaceMounted(t *testing.T) {
	s := startServer(t, Config{SimBackends: 1})
	c := client(t)
	waitReady(t, c, s)
	graph := `{"1": {"class_type": "EmptyImage", "inputs": {"width": 10, "height": 6, "batch_size": 1, "color": 0}},
		"2": {"class_type": "SaveImage", "inputs": {"images": ["1", 0], "filename_prefix": "mounted"}}}`
	code, body := post(t, c, s.URL()+"/prompt", `{"prompt": `+graph+`}`)
	var pr struct {
		PromptID string `json:"prompt_id"`
	}
	if code != http.StatusOK || json.Unmarshal(body, &pr) != nil || pr.PromptID == "" {
		t.Fatalf("POST /prompt: %d %s", code, body)
	}
	var entry map[string]json.RawMessage
	if !poll(func() bool {
		_, b := get(t, c, s.URL()+"/api/history/"+pr.PromptID)
		entry = nil
		_ = json.Unmarshal(b, &entry)
		return entry[pr.PromptID] != nil
	}) {
		t.Fatal("the prompt never reached /history")
	}
	var h struct {
		Outputs map[string]struct {
			Images []map[string]string `json:"images"`
		} `json:"outputs"`
	}
	_ = json.Unmarshal(entry[pr.PromptID], &h)
	ref := h.Outputs["2"].Images
	if len(ref) != 1 {
		t.Fatalf("outputs %s", entry[pr.PromptID])
	}
	q := url.Values{"filename": {ref[0]["filename"]}, "subfolder": {ref[0]["subfolder"]}, "type": {ref[0]["type"]}}
	if code, img := get(t, c, s.URL()+"/view?"+q.Encode()); code != http.StatusOK || !strings.HasPrefix(string(img), "\x89PNG") {
		t.Errorf("/view: %d", code)
	}
	if code, b := get(t, c, s.URL()+"/v1/jobs/"+pr.PromptID); code != http.StatusOK || !strings.Contains(string(b), `"succeeded"`) {
		t.Errorf("the prompt as a comfygate job: %d %s", code, b)
	}
	if code, b := get(t, c, s.URL()+"/v1/nope"); code != http.StatusNotFound || !strings.Contains(string(b), "{") {
		t.Errorf("REST keeps its own 404: %d %s", code, b)
	}
	if code, b := get(t, c, s.URL()+"/custom_node_route"); code != http.StatusNotFound || string(b) != "404: Not Found" {
		t.Errorf("an unknown route is proxied to the backend: %d %q", code, b)
	}
}
