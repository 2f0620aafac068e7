package comfyapi

import (
	"bytes"
	"encoding/json"
	"image"
	"io"
	"net/http"
	"strings"
	"testing"

	_ "image/png"
)

// Model-free graphs the simulator runs.

// imageGraph makes a w×h image and saves it under prefix.
func imageGraph(w, h int, prefix string) map[string]any {
	return map[string]any{
		"1": map[string]any{"class_type": "EmptyImage", "inputs": map[string]any{"width": w, "height": h, "batch_size": 1, "color": 3368652}},
		"2": map[string]any{"class_type": "ImageInvert", "inputs": map[string]any{"image": []any{"1", 0}}},
		"3": map[string]any{"class_type": "SaveImage", "inputs": map[string]any{"images": []any{"2", 0}, "filename_prefix": prefix}},
	}
}

// slowGraph has an ImageBlur (made slow with the simulator's class delay)
// before its SaveImage.
func slowGraph(prefix string) map[string]any {
	return map[string]any{
		"1": map[string]any{"class_type": "EmptyImage", "inputs": map[string]any{"width": 16, "height": 16, "batch_size": 1, "color": 1122867}},
		"2": map[string]any{"class_type": "ImageBlur", "inputs": map[string]any{"image": []any{"1", 0}, "blur_radius": 1, "sigma": 1.0}},
		"3": map[string]any{"class_type": "SaveImage", "inputs": map[string]any{"images": []any{"2", 0}, "filename_prefix": prefix}},
	}
}

type httpResult struct {
	status int
	header http.Header
	body   []byte
}

func (r httpResult) json(tb testing.TB) map[string]any {
	tb.Helper()
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(r.body))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		tb.Fatalf("not a JSON object (status %d): %q", r.status, r.body)
	}
	return m
}

func do(tb testing.TB, method, url string, body []byte, h http.Header) httpResult {
	tb.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		tb.Fatal(err)
	}
	for k, vs := range h {
		req.Header[k] = vs
	}
	if body != nil && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatal(err)
	}
	return httpResult{status: resp.StatusCode, header: resp.Header, body: b}
}

func mustJSON(tb testing.TB, v any) []byte {
	tb.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// submit posts a prompt and returns its prompt_id, failing unless 200.
func submit(tb testing.TB, base string, body map[string]any, h http.Header) string {
	tb.Helper()
	r := do(tb, http.MethodPost, base+"/prompt", mustJSON(tb, body), h)
	if r.status != http.StatusOK {
		tb.Fatalf("POST /prompt: %d %s", r.status, r.body)
	}
	id, _ := r.json(tb)["prompt_id"].(string)
	return id
}

// outputImages returns the file refs of a history entry's outputs.
func outputImages(tb testing.TB, entry map[string]any) []map[string]any {
	tb.Helper()
	outs, _ := entry["outputs"].(map[string]any)
	var refs []map[string]any
	for _, o := range outs {
		node, _ := o.(map[string]any)
		imgs, _ := node["images"].([]any)
		for _, im := range imgs {
			if m, ok := im.(map[string]any); ok {
				refs = append(refs, m)
			}
		}
	}
	return refs
}

// imageSize decodes an image body.
func imageSize(tb testing.TB, b []byte) (int, int) {
	tb.Helper()
	cfg, _, err := image.DecodeConfig(bytes.NewReader(b))
	if err != nil {
		tb.Fatalf("not an image: %v", err)
	}
	return cfg.Width, cfg.Height
}

func keyHeader(key string) http.Header { return http.Header{"X-Key": []string{key}} }

// keyOwner authenticates "X-Key: <owner>" as owner <owner>.
func keyOwner(r *http.Request) (string, error) {
	k := r.Header.Get("X-Key")
	if k == "" {
		return "", errNoTestKey
	}
	return "key-" + strings.ToLower(k), nil
}

var errNoTestKey = io.ErrUnexpectedEOF

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }
