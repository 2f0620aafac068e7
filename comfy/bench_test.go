package comfy

import (
	"encoding/json"
	"testing"
)

func BenchmarkDecodeMessage(b *testing.B) {
	lines := readLines(b, "ws-02-submit-run.jsonl")
	var size int64
	for _, l := range lines {
		size += int64(len(l))
	}
	b.SetBytes(size)
	b.ReportAllocs()
	for b.Loop() {
		for _, l := range lines {
			if _, err := DecodeMessage(l); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkEncodeMessage encodes the messages of a captured run again, as
// a gateway does for its clients.
func BenchmarkEncodeMessage(b *testing.B) {
	var evs []Event
	for _, l := range readLines(b, "ws-02-submit-run.jsonl") {
		ev, err := DecodeMessage(l)
		if err != nil {
			b.Fatal(err)
		}
		evs = append(evs, ev)
	}
	b.ReportAllocs()
	for b.Loop() {
		for _, ev := range evs {
			if _, err := EncodeMessage(ev); err != nil {
				b.Fatal(err)
			}
		}
	}
}

func BenchmarkDecodeHistory(b *testing.B) {
	body := findResponse(b, "05-get-history-all").Body
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		var h History
		if err := json.Unmarshal(body, &h); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeBinaryFrame(b *testing.B) {
	frame, _ := EncodePreviewWithMetadata(PreviewMetadata{NodeID: "3", PromptID: "p"}, make([]byte, 64<<10))
	b.SetBytes(int64(len(frame)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeBinaryFrame(frame); err != nil {
			b.Fatal(err)
		}
	}
}
