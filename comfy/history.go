package comfy

import (
	"encoding/json"
	"fmt"
	"slices"

	"github.com/comfygate/comfygate/comfy/comfyjson"
)

// HistoryEntry is one prompt's record in GET /history.
type HistoryEntry struct {
	Prompt QueueItem `json:"prompt"`
	// Outputs maps node id to that node's UI output (e.g. {"images": [...]}).
	// Use NodeOutputFiles to read file references out of it.
	Outputs map[string]json.RawMessage `json:"outputs"`
	Status  HistoryStatus              `json:"status"`
	// Meta describes each output node (display node, expansion parent). Absent
	// on servers older than mid-2024.
	Meta map[string]OutputMeta `json:"meta,omitzero"`
}

// MarshalJSON writes outputs as {} rather than null when empty.
func (h HistoryEntry) MarshalJSON() ([]byte, error) {
	type plain HistoryEntry
	p := plain(h)
	p.Outputs = orEmptyMap(p.Outputs)
	return json.Marshal(p)
}

// Status strings of a history entry.
const (
	StatusSuccess = "success"
	StatusError   = "error"
)

// HistoryStatus is the "status" of a history entry. An interrupted run is
// "error"/false; Messages tells interrupts and failures apart.
type HistoryStatus struct {
	StatusStr string          `json:"status_str"`
	Completed bool            `json:"completed"`
	Messages  []StatusMessage `json:"messages"`
}

// MarshalJSON writes messages as [] rather than null when empty.
func (s HistoryStatus) MarshalJSON() ([]byte, error) {
	type plain HistoryStatus
	p := plain(s)
	p.Messages = orEmptySlice(p.Messages)
	return json.Marshal(p)
}

// Outcome reports how the run ended, judged from the messages (status_str can
// be stale): one of EventExecutionSuccess, EventExecutionError,
// EventExecutionInterrupted, or "" when none is recorded.
func (s HistoryStatus) Outcome() string {
	out := ""
	for _, m := range s.Messages {
		switch m.Event {
		case EventExecutionSuccess, EventExecutionError, EventExecutionInterrupted:
			out = m.Event
		}
	}
	return out
}

// StatusMessage is one [event_name, data] pair of HistoryStatus.Messages; the
// data is the same object that was sent on the WebSocket.
type StatusMessage struct {
	Event string
	Data  json.RawMessage
}

// UnmarshalJSON reads the [name, data] array.
func (m *StatusMessage) UnmarshalJSON(data []byte) error {
	var elems []json.RawMessage
	if err := json.Unmarshal(data, &elems); err != nil {
		return fmt.Errorf("status message: %w", err)
	}
	if len(elems) != 2 {
		return fmt.Errorf("status message: want 2 elements, got %d", len(elems))
	}
	if err := json.Unmarshal(elems[0], &m.Event); err != nil {
		return fmt.Errorf("status message name: want a string, got %s", jsonKind(elems[0]))
	}
	m.Data = elems[1]
	return nil
}

// MarshalJSON writes the [name, data] array.
func (m StatusMessage) MarshalJSON() ([]byte, error) {
	data := m.Data
	if len(data) == 0 {
		data = json.RawMessage("null")
	}
	return json.Marshal([]any{m.Event, data})
}

// Decode decodes the message's data into its typed event (e.g.
// ExecutionSuccess), as DecodeMessage would.
func (m StatusMessage) Decode() (Event, error) {
	return decodeEventData(m.Event, m.Data)
}

// OutputMeta is one entry of a history entry's "meta".
type OutputMeta struct {
	NodeID      string  `json:"node_id"`
	DisplayNode string  `json:"display_node"`
	ParentNode  *string `json:"parent_node"`
	RealNodeID  string  `json:"real_node_id"`
}

// HistoryItem pairs a prompt id with its entry.
type HistoryItem struct {
	PromptID string
	Entry    HistoryEntry
}

// History is a GET /history response with its order kept: oldest entry first,
// as ComfyUI writes the object's keys. A Go map would lose that order.
type History []HistoryItem

// Get returns the entry for promptID.
func (h History) Get(promptID string) (HistoryEntry, bool) {
	i := slices.IndexFunc(h, func(it HistoryItem) bool { return it.PromptID == promptID })
	if i < 0 {
		return HistoryEntry{}, false
	}
	return h[i].Entry, true
}

// UnmarshalJSON reads the object key by key to keep the order.
func (h *History) UnmarshalJSON(data []byte) error {
	var out History
	err := comfyjson.DecodeMembers(data, func(id string, e HistoryEntry) {
		out = append(out, HistoryItem{PromptID: id, Entry: e})
	})
	if err != nil {
		return fmt.Errorf("history: %w", err)
	}
	*h = out
	return nil
}

// MarshalJSON writes the object in slice order.
func (h History) MarshalJSON() ([]byte, error) {
	return comfyjson.MarshalMembers(len(h), func(i int) (string, any) { return h[i].PromptID, h[i].Entry })
}

// FileRef names a file in ComfyUI's input, output or temp directory, as found in
// node outputs and accepted by GET /view.
type FileRef struct {
	Filename  string `json:"filename"`
	Subfolder string `json:"subfolder"`
	Type      string `json:"type"`
}

// File types of a FileRef.
const (
	FileTypeOutput = "output"
	FileTypeInput  = "input"
	FileTypeTemp   = "temp"
)

// OutputFile is a FileRef found in a node's UI output, with the media key it
// was listed under ("images", "gifs", "video", "audio", ...).
type OutputFile struct {
	Kind string
	FileRef
}

// NodeOutputFiles returns every file reference in one node's UI output, in
// key order then list order. Values that are not lists of file objects (text,
// "animated" flags, custom data) are skipped.
func NodeOutputFiles(output json.RawMessage) ([]OutputFile, error) {
	if jsonKind(output) != "object" {
		return nil, nil
	}
	var files []OutputFile
	err := comfyjson.DecodeMembers(output, func(key string, raw json.RawMessage) {
		files = append(files, filesIn(key, raw)...)
	})
	if err != nil {
		return nil, fmt.Errorf("node output: %w", err)
	}
	return files, nil
}

func filesIn(kind string, raw json.RawMessage) []OutputFile {
	var items []json.RawMessage
	if json.Unmarshal(raw, &items) != nil {
		return nil
	}
	var out []OutputFile
	for _, it := range items {
		var ref struct {
			Filename  *string `json:"filename"`
			Subfolder string  `json:"subfolder"`
			Type      string  `json:"type"`
		}
		if jsonKind(it) != "object" || json.Unmarshal(it, &ref) != nil || ref.Filename == nil {
			continue
		}
		out = append(out, OutputFile{Kind: kind, FileRef: FileRef{Filename: *ref.Filename, Subfolder: ref.Subfolder, Type: ref.Type}})
	}
	return out
}
