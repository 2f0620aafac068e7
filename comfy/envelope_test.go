package comfy

import (
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Every message of the captures of a real ComfyUI takes the fast path, and
// decodes to what the full decoder makes of it.
func TestCapturedMessagesTakeTheFastPath(t *testing.T) {
	t.Parallel()
	files, _ := filepath.Glob("testdata/ws-*.jsonl")
	if len(files) == 0 {
		t.Fatal("no captures")
	}
	for _, file := range files {
		for _, line := range readLines(t, filepath.Base(file)) {
			fast, ok := decodeFast(line)
			if !ok {
				t.Errorf("%s: %.120s: not on the fast path", file, line)
				continue
			}
			full, err := decodeFull(line)
			if err != nil {
				t.Fatalf("%s: %.120s: %v", file, line, err)
			}
			if d := cmp.Diff(full, fast); d != "" {
				t.Errorf("%s: fast and full decodes differ (-full +fast):\n%s", file, d)
			}
		}
	}
}

// Envelopes the fast path does not read exactly as encoding/json would go
// to the full decoder.
func TestFastPathLeavesOtherEnvelopes(t *testing.T) {
	t.Parallel()
	for name, msg := range map[string]string{
		"keys reversed":     `{"data": {"node": null, "prompt_id": "p"}, "type": "executing"}`,
		"key case":          `{"Type": "executing", "data": {"node": null, "prompt_id": "p"}}`,
		"escaped type":      `{"type": "execut\u0069ng", "data": {"node": null, "prompt_id": "p"}}`,
		"non-ASCII type":    `{"type": "é", "data": {}}`,
		"data not object":   `{"type": "executing", "data": null}`,
		"a third key":       `{"type": "executing", "data": {"node": null}, "type": "status"}`,
		"trailing bytes":    `{"type": "executing", "data": {"node": null}} x`,
		"python NaN":        `{"type": "progress", "data": {"value": NaN, "max": 1, "prompt_id": "p", "node": "1"}}`,
		"unknown, bad data": `{"type": "custom", "data": {"a": }}`,
		"empty type":        `{"type": "", "data": {}}`,
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if ev, ok := decodeFast([]byte(msg)); ok {
				t.Fatalf("took the fast path: %#v", ev)
			}
		})
	}
}

// Whatever the fast path answers, the full decoder answers the same.
func FuzzFastPathAgrees(f *testing.F) {
	files, _ := filepath.Glob("testdata/ws-*.jsonl")
	for _, file := range files {
		for _, line := range readLines(f, filepath.Base(file)) {
			f.Add(line)
		}
	}
	f.Add([]byte(`{"type": "custom", "data": {"a": [1, 2.50, "x"]} }`))
	f.Add([]byte(`{"type": "executing", "data": {"node": null}, "data": {"node": "1"}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		fast, ok := decodeFast(data)
		if !ok {
			return
		}
		full, err := decodeFull(data)
		if err != nil {
			t.Fatalf("the fast path read %q, the full decoder refused it: %v", data, err)
		}
		if d := cmp.Diff(full, fast); d != "" {
			t.Fatalf("%q: fast and full decodes differ (-full +fast):\n%s", data, d)
		}
	})
}
