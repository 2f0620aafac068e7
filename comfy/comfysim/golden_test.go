package comfysim_test

import (
	"bytes"
	"encoding/json"
	"mime/multipart"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/comfygate/comfygate/comfy/comfysim"
)

var tempPrefix = regexp.MustCompile(`ComfyUI_temp_[a-z]{5}_`)

// normalize makes a message comparable with the goldens (see
// testdata/README.md): prompt ids, timestamps, temp prefixes and the data
// directory are replaced; numbers keep their literal (1 vs 1.0).
func normalize(t *testing.T, data []byte, dataDir string) any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("decode %s: %v", data, err)
	}
	return walk(v, dataDir)
}

func walk(v any, dataDir string) any {
	switch x := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, e := range x {
			if k == "timestamp" {
				continue
			}
			if _, isStr := e.(string); isStr && k == "prompt_id" {
				e = "<P>"
			}
			out[k] = walk(e, dataDir)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = walk(e, dataDir)
		}
		return out
	case string:
		if dataDir != "" {
			x = strings.ReplaceAll(x, dataDir, "<RUN_DIR>")
		}
		return tempPrefix.ReplaceAllString(x, "ComfyUI_temp_xxxxx_")
	}
	return v
}

func golden(t *testing.T, name string) []any {
	t.Helper()
	data, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	var raw []json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		t.Fatal(err)
	}
	out := make([]any, len(raw))
	for i, r := range raw {
		out[i] = normalize(t, r, "")
	}
	return out
}

func compareGolden(t *testing.T, s *comfysim.Server, name string, frames []frame) {
	t.Helper()
	var got []any
	for _, f := range frames {
		if f.binary {
			got = append(got, "binary frame")
			continue
		}
		got = append(got, normalize(t, f.data, s.DataDir()))
	}
	diff(t, name, golden(t, name), got)
}

// TestGoldenBasicRunAndCached replays captures 02 and 03: a model-free
// graph, then the same graph again, served entirely from cache.
func TestGoldenBasicRunAndCached(t *testing.T) {
	s := start(t, comfysim.Options{})
	ws := dial(t, s, "fixture-client-02")
	ws.mustNext() // greeting, part of the golden
	id := submit(t, s, workflow(t, "basic"), "fixture-client-02")
	frames := ws.untilDone(id)
	greeting := frame{data: []byte(`{"type": "status", "data": {"status": {"exec_info": {"queue_remaining": 0}}, "sid": "fixture-client-02"}}`)}
	compareGolden(t, s, "ws-basic-run.golden.json", append([]frame{greeting}, frames...))

	ws2 := dial(t, s, "fixture-client-03")
	frames = []frame{ws2.mustNext()}
	id = submit(t, s, workflow(t, "basic"), "fixture-client-03")
	frames = append(frames, ws2.untilDone(id)...)
	// The first socket is still open and receives the status broadcasts;
	// the golden is the second socket's view.
	compareGolden(t, s, "ws-basic-cached.golden.json", frames)

	entry := history(t, s, id)
	outputs := entry["outputs"].(map[string]any)["4"].(map[string]any)["images"].([]any)
	diff(t, "cached output names", "basic_00001_.png", outputs[0].(map[string]any)["filename"])
}

// TestGoldenExecutionError replays capture 14: a non-image passes
// validation and LoadImage fails at run time with PIL's error.
func TestGoldenExecutionError(t *testing.T) {
	s := start(t, comfysim.Options{})
	ws := dial(t, s, "fixture-client-14")
	if r := upload(t, s, "/upload/image", "not-an-image.png", []byte("this is not an image\n\x00\x01")); r.status != http.StatusOK {
		t.Fatalf("upload: %d %s", r.status, r.body)
	}
	frames := []frame{ws.mustNext()}
	id := submit(t, s, workflow(t, "runtime-error-load-broken-image"), "fixture-client-14")
	frames = append(frames, ws.untilDone(id)...)
	compareGolden(t, s, "ws-execution-error.golden.json", frames)

	// Failures are not cached: the same prompt fails again.
	id = submit(t, s, workflow(t, "runtime-error-load-broken-image"), "fixture-client-14")
	got := types(ws.untilDone(id))
	diff(t, "second run ends with", []string{"execution_error", "status", "executing"}, got[len(got)-3:])
	entry := history(t, s, id)
	diff(t, "status_str", "error", entry["status"].(map[string]any)["status_str"])
}

// TestGoldenInterrupt replays the first part of capture 09: a global
// interrupt while the first ImageBlur runs lands when the next node starts.
func TestGoldenInterrupt(t *testing.T) {
	s := start(t, comfysim.Options{ClassDelays: map[string]time.Duration{"ImageBlur": time.Hour}})
	ws := dial(t, s, "fixture-client-09")
	frames := []frame{ws.mustNext()}
	id := submit(t, s, workflow(t, "slow-chain"), "fixture-client-09")
	frames = append(frames, ws.until(func(f frame) bool {
		return f.typ() == "executing" && strings.Contains(string(f.data), `"node": "2"`)
	})...)
	if r := do(t, http.MethodPost, s.URL()+"/interrupt", nil); r.status != http.StatusOK || len(r.body) != 0 {
		t.Fatalf("interrupt: %d %q", r.status, r.body)
	}
	frames = append(frames, ws.untilDone(id)...)
	compareGolden(t, s, "ws-interrupt.golden.json", frames)
	entry := history(t, s, id)
	diff(t, "completed", false, entry["status"].(map[string]any)["completed"])
	diff(t, "outputs", map[string]any{}, entry["outputs"])
}

// TestGoldenNoClientID replays capture 16: a prompt without client_id is
// seen by another socket only through status and progress_state.
func TestGoldenNoClientID(t *testing.T) {
	s := start(t, comfysim.Options{})
	ws := dial(t, s, "fixture-client-16")
	want := golden(t, "ws-no-client-id.golden.json")
	prompt := map[string]any{
		"1": map[string]any{"class_type": "EmptyImage", "inputs": map[string]any{"width": 48, "height": 48, "batch_size": 1, "color": 1447446}},
		"2": map[string]any{"class_type": "ImageBlur", "inputs": map[string]any{"image": []any{"1", 0}, "blur_radius": 31, "sigma": 10.0}},
		"3": map[string]any{"class_type": "PreviewImage", "inputs": map[string]any{"images": []any{"2", 0}}},
	}
	frames := []frame{ws.mustNext()}
	id := submit(t, s, prompt, "")
	for len(frames) < len(want) {
		frames = append(frames, ws.mustNext())
	}
	compareGolden(t, s, "ws-no-client-id.golden.json", frames)
	entry := history(t, s, id)
	diff(t, "extra_data", map[string]any{}, entry["prompt"].([]any)[3])
}

// TestGoldenSameClientID replays capture 01: a second socket with the same
// clientId takes over routing; the first stays open and silent.
func TestGoldenSameClientID(t *testing.T) {
	s := start(t, comfysim.Options{})
	first := dial(t, s, "fixture-client-01b")
	first.mustNext()
	second := dial(t, s, "fixture-client-01b")
	frames := []frame{second.mustNext()}
	id := submit(t, s, workflow(t, "text"), "fixture-client-01b")
	frames = append(frames, second.untilDone(id)...)
	compareGolden(t, s, "ws-same-client-id.golden.json", frames)

	s.CloseAllSockets()
	got, _ := first.closed()
	if len(got) != 0 {
		t.Errorf("orphaned socket got %v, want nothing", types(got))
	}
}

// TestGoldenPreviewBatch replays capture 17: PreviewImage of a batch of two
// writes two temp files with the instance's random prefix.
func TestGoldenPreviewBatch(t *testing.T) {
	s := start(t, comfysim.Options{})
	ws := dial(t, s, "fixture-client-17")
	frames := []frame{ws.mustNext()}
	id := submit(t, s, workflow(t, "preview"), "fixture-client-17")
	frames = append(frames, ws.untilDone(id)...)
	compareGolden(t, s, "ws-preview-batch.golden.json", frames)
}

func upload(t *testing.T, s *comfysim.Server, path, name string, data []byte, fields ...string) httpResult {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, err := mw.CreateFormFile("image", name)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = fw.Write(data)
	for i := 0; i+1 < len(fields); i += 2 {
		_ = mw.WriteField(fields[i], fields[i+1])
	}
	_ = mw.Close()
	return do(t, http.MethodPost, s.URL()+path, &body, "Content-Type", mw.FormDataContentType())
}
