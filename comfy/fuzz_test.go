package comfy

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func FuzzDecodeBinaryFrame(f *testing.F) {
	meta, _ := EncodePreviewWithMetadata(PreviewMetadata{NodeID: "3", PromptID: "p"}, pngMagic)
	for _, seed := range [][]byte{EncodePreview(FormatPNG, pngMagic), EncodePreview(7, nil), meta, EncodeText("5", "hi"),
		{0, 0, 0, 4, 0xff, 0xff, 0xff, 0xff}, {0, 0, 0, 3, 0, 0, 0, 1}, {0, 0, 0, 9}, nil} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		ev, err := DecodeBinaryFrame(data)
		if err != nil {
			return
		}
		// Decoded payloads alias or copy the frame; they can never be larger.
		switch e := ev.(type) {
		case PreviewImage:
			if len(e.Image) > len(data) {
				t.Fatalf("image %d bytes from a %d-byte frame", len(e.Image), len(data))
			}
		case PreviewImageWithMetadata:
			if len(e.Image) > len(data) {
				t.Fatalf("image %d bytes from a %d-byte frame", len(e.Image), len(data))
			}
		case ProgressText:
			if len(e.NodeID)+len(e.Text) > len(data) {
				t.Fatal("text larger than frame")
			}
			// Type 3 round-trips byte for byte.
			if out := EncodeText(e.NodeID, e.Text); !bytes.Equal(out, data) {
				t.Fatalf("re-encoded %x, want %x", out, data)
			}
		}
		if _, err := EncodeFrame(ev); err != nil {
			t.Fatalf("decoded event does not encode: %v", err)
		}
	})
}

func FuzzDecodeMessage(f *testing.F) {
	files, _ := filepath.Glob("testdata/ws-*.jsonl")
	files = append(files, "testdata/synthetic/ws-blocked-and-resync.jsonl")
	for _, file := range files {
		for _, line := range readLines(f, filepath.ToSlash(file[len("testdata/"):])) {
			f.Add(line)
		}
	}
	f.Add([]byte(`{"type": "progress", "data": {"value": 1e400, "max": -0}}`))
	f.Add([]byte(`{"type": "execution_error", "data": {"current_inputs": {"a": [NaN]}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		ev, err := DecodeMessage(data)
		if err != nil {
			return
		}
		once, err := EncodeMessage(ev)
		if err != nil {
			t.Fatalf("decoded %T does not encode: %v", ev, err)
		}
		ev2, err := DecodeMessage(once)
		if err != nil {
			t.Fatalf("re-decode of %s: %v", once, err)
		}
		twice, err := EncodeMessage(ev2)
		if err != nil || !bytes.Equal(once, twice) {
			t.Fatalf("encoding not stable:\n%s\n%s (%v)", once, twice, err)
		}
	})
}

func FuzzQueueItem(f *testing.F) {
	var q struct {
		Running []json.RawMessage `json:"queue_running"`
		Pending []json.RawMessage `json:"queue_pending"`
	}
	for _, name := range []string{"15-get-queue-pending-list-is-the-raw-heap-not-sorted", "04-get-queue-one-running-two-pending"} {
		if err := json.Unmarshal(findResponse(f, name).Body, &q); err != nil {
			f.Fatal(err)
		}
		for _, it := range append(q.Running, q.Pending...) {
			f.Add([]byte(it))
		}
	}
	f.Add([]byte(`[1e99999999, "x", null, ["9"], {}, 6]`))
	f.Add([]byte(`[-0.5, "", {}, {}]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var it QueueItem
		if err := json.Unmarshal(data, &it); err != nil {
			return
		}
		out, err := json.Marshal(it)
		if err != nil {
			t.Fatalf("decoded item does not encode: %v", err)
		}
		var back QueueItem
		if err := json.Unmarshal(out, &back); err != nil {
			t.Fatalf("re-decode %s: %v", out, err)
		}
		if back.PromptID != it.PromptID || back.Number != it.Number || !cmp.Equal(back.OutputsToExecute, orEmptyStrings(it.OutputsToExecute)) {
			t.Fatalf("round trip changed the item:\n%+v\n%+v", it, back)
		}
		items := []QueueItem{it, back, {Number: "1", PromptID: "z"}}
		SortRunOrder(items)
		if CompareRunOrder(it, back) != 0 {
			t.Fatal("item does not compare equal to its round trip")
		}
	})
}

func FuzzHistory(f *testing.F) {
	for _, r := range loadResponses(f) {
		if r.Route() == "/history" || len(r.Route()) > len("/history/") && r.Route()[:9] == "/history/" {
			f.Add(r.Body)
		}
	}
	f.Add([]byte(`{"a": {"prompt": [1, "a"], "outputs": null, "status": {"messages": [["x", 1]]}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var h History
		if err := json.Unmarshal(data, &h); err != nil {
			return
		}
		out, err := json.Marshal(h)
		if err != nil {
			t.Fatalf("decoded history does not encode: %v", err)
		}
		var back History
		if err := json.Unmarshal(out, &back); err != nil {
			t.Fatalf("re-decode %s: %v", out, err)
		}
		if !cmp.Equal(historyIDs(h), historyIDs(back)) {
			t.Fatalf("order changed: %v vs %v", historyIDs(h), historyIDs(back))
		}
		for _, it := range h {
			for _, o := range it.Entry.Outputs {
				NodeOutputFiles(o)
			}
			it.Entry.Status.Outcome()
		}
	})
}
