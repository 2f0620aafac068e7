package comfy

import (
	"bytes"
	"cmp"
	"encoding/json"

	"fmt"
	"math/big"
	"slices"
)

// QueueItem is one entry of GET /queue, and the "prompt" of a history entry. On
// the wire it is a JSON array: [number, prompt_id, prompt, extra_data,
// outputs_to_execute].
type QueueItem struct {
	// Number is the priority: an int, a negative int (front) or a float
	// (client-supplied).
	Number           json.Number
	PromptID         string
	Prompt           json.RawMessage
	ExtraData        json.RawMessage
	OutputsToExecute []string
	// Extra holds elements past the fifth, which no known server sends; they are
	// kept so a round trip loses nothing.
	Extra []json.RawMessage
}

// UnmarshalJSON reads the array form. It accepts the "cloud" variant whose 4th
// and 5th elements are swapped, and tolerates missing trailing elements.
func (q *QueueItem) UnmarshalJSON(data []byte) error {
	var elems []json.RawMessage
	if err := json.Unmarshal(data, &elems); err != nil {
		return fmt.Errorf("queue item: %w", err)
	}
	if len(elems) < 2 {
		return fmt.Errorf("queue item: want at least 2 elements, got %d", len(elems))
	}
	var item QueueItem
	if jsonKind(elems[0]) != "number" || decodeUseNumber(elems[0], &item.Number) != nil {
		return fmt.Errorf("queue item number: want a number, got %s", jsonKind(elems[0]))
	}
	if err := json.Unmarshal(elems[1], &item.PromptID); err != nil {
		return fmt.Errorf("queue item prompt_id: want a string, got %s", jsonKind(elems[1]))
	}
	if len(elems) > 2 {
		item.Prompt = elems[2]
	}
	if len(elems) > 4 && jsonKind(elems[3]) == "array" && jsonKind(elems[4]) == "object" {
		elems[3], elems[4] = elems[4], elems[3]
	}
	if len(elems) > 3 {
		item.ExtraData = elems[3]
	}
	if len(elems) > 4 && jsonKind(elems[4]) != "null" {
		if err := json.Unmarshal(elems[4], &item.OutputsToExecute); err != nil {
			return fmt.Errorf("queue item outputs_to_execute: want a list of strings, got %s", jsonKind(elems[4]))
		}
	}
	if len(elems) > 5 {
		item.Extra = elems[5:]
	}
	*q = item
	return nil
}

// MarshalJSON writes the 5-element array ComfyUI sends.
func (q QueueItem) MarshalJSON() ([]byte, error) {
	num := q.Number
	if num == "" {
		num = "0"
	}
	elems := []any{num, q.PromptID, orEmptyObject(q.Prompt), orEmptyObject(q.ExtraData), orEmptySlice(q.OutputsToExecute)}
	for _, e := range q.Extra {
		elems = append(elems, e)
	}
	return json.Marshal(elems)
}

// ClientID returns extra_data.client_id, or "" when absent.
func (q QueueItem) ClientID() string {
	var ed struct {
		ClientID string `json:"client_id"`
	}
	if json.Unmarshal(q.ExtraData, &ed) != nil {
		return ""
	}
	return ed.ClientID
}

// CompareRunOrder orders queue items the way ComfyUI's heap pops them: by
// number (compared exactly, so 7.5 < 39 and -40 < 7.5), then by prompt_id.
// Items whose number does not parse sort last.
func CompareRunOrder(a, b QueueItem) int {
	ra, okA := parseNumber(a.Number)
	rb, okB := parseNumber(b.Number)
	switch {
	case okA && okB:
		if c := ra.Cmp(rb); c != 0 {
			return c
		}
	case okA:
		return -1
	case okB:
		return 1
	}
	return cmp.Compare(a.PromptID, b.PromptID)
}

func parseNumber(n json.Number) (*big.Rat, bool) {
	if len(n) == 0 || len(n) > 64 {
		return nil, false
	}
	// big.Rat would happily expand "1e1000000"; exponents are refused to keep
	// the work bounded.
	if bytes.ContainsAny([]byte(n), "eE") {
		f, err := n.Float64()
		if err != nil {
			return nil, false
		}
		r := new(big.Rat)
		if r.SetFloat64(f) == nil {
			return nil, false
		}
		return r, true
	}
	r, ok := new(big.Rat).SetString(string(n))
	return r, ok
}

// SortRunOrder sorts items in place into the order ComfyUI will run them.
func SortRunOrder(items []QueueItem) { slices.SortStableFunc(items, CompareRunOrder) }

// QueueStatus is the body of GET /queue. Pending is in the server's heap order
// on the wire; Client.Queue sorts it into run order.
type QueueStatus struct {
	Running []QueueItem `json:"queue_running"`
	Pending []QueueItem `json:"queue_pending"`
}

// MarshalJSON writes empty lists as [] rather than null.
func (s QueueStatus) MarshalJSON() ([]byte, error) {
	type plain QueueStatus
	p := plain(s)
	p.Running = orEmptySlice(p.Running)
	p.Pending = orEmptySlice(p.Pending)
	return json.Marshal(p)
}

// Find returns the item with promptID and whether it is running.
func (s QueueStatus) Find(promptID string) (item QueueItem, running, ok bool) {
	for _, it := range s.Running {
		if it.PromptID == promptID {
			return it, true, true
		}
	}
	for _, it := range s.Pending {
		if it.PromptID == promptID {
			return it, false, true
		}
	}
	return QueueItem{}, false, false
}

// QueueRequest is the body of POST /queue. Clear is applied before Delete;
// only pending items can be deleted.
type QueueRequest struct {
	Clear  bool     `json:"clear,omitempty"`
	Delete []string `json:"delete,omitempty"`
}

// HistoryRequest is the body of POST /history.
type HistoryRequest struct {
	Clear  bool     `json:"clear,omitempty"`
	Delete []string `json:"delete,omitempty"`
}

// InterruptRequest is the body of POST /interrupt. An empty PromptID
// interrupts whatever runs; otherwise only that prompt if it is running.
type InterruptRequest struct {
	PromptID string `json:"prompt_id,omitempty"`
}

// FreeRequest is the body of POST /free.
type FreeRequest struct {
	UnloadModels bool `json:"unload_models,omitempty"`
	FreeMemory   bool `json:"free_memory,omitempty"`
}
