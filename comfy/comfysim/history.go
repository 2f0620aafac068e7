package comfysim

import (
	"bytes"
	"net/http"
	"time"

	"github.com/comfygate/comfygate/comfy"
	"github.com/comfygate/comfygate/comfy/comfyjson"
	"github.com/comfygate/comfygate/comfy/comfysim/internal/engine"
	"github.com/comfygate/comfygate/internal/comfywire"
)

// sensitiveKeys are removed from extra_data when a prompt enters history
// (SENSITIVE_EXTRA_DATA_KEYS).
var sensitiveKeys = []string{"auth_token_comfy_org", "api_key_comfy_org"}

// historyItem is one history entry, encoded once.
type historyItem struct {
	raw      []byte
	number   string
	promptID string
	prompt   []byte
	extra    any
	outputs  comfyjson.Object
	status   comfy.HistoryStatus
	created  time.Time
}

func newHistoryItem(it *item, res engine.Result) *historyItem {
	extra := it.extra
	if obj, ok := extra.(comfyjson.Object); ok {
		clean := append(comfyjson.Object{}, obj...)
		for _, k := range sensitiveKeys {
			clean.Delete(k)
		}
		extra = clean
	}
	status := comfy.HistoryStatus{StatusStr: comfy.StatusError, Completed: false, Messages: res.Messages}
	if res.Success {
		status.StatusStr, status.Completed = comfy.StatusSuccess, true
	}
	entry := comfyjson.Object{
		{Key: "prompt", Value: it.queueItem(extra)},
		{Key: "outputs", Value: res.Outputs},
		{Key: "status", Value: status},
		{Key: "meta", Value: res.Meta},
	}
	return &historyItem{
		raw:      comfyjson.MustDumps(entry),
		number:   string(it.number),
		promptID: it.promptID,
		prompt:   it.promptRaw,
		extra:    extra,
		outputs:  res.Outputs,
		status:   status,
		created:  it.created,
	}
}

// writeHistory answers {"id": entry, ...} in the given order.
func writeHistory(w http.ResponseWriter, ids []string, entries []*historyItem) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, id := range ids {
		if i > 0 {
			b.WriteString(", ")
		}
		b.Write(comfyjson.MustDumps(id))
		b.WriteString(": ")
		b.Write(entries[i].raw)
	}
	b.WriteByte('}')
	comfywire.WriteJSONBytes(w, http.StatusOK, b.Bytes())
}

// handleGetHistory is GET /history?max_items=&offset= with ComfyUI's paging
// (see queue.History.Page); a non-integer parameter is a 500.
func (s *Server) handleGetHistory(w http.ResponseWriter, r *http.Request, _ map[string]string) {
	q := comfywire.ParseQuery(r.URL.RawQuery)
	var maxItems *int
	if v, ok := q["max_items"]; ok {
		n, ok := comfywire.PyInt(v[0])
		if !ok {
			internalError(w)
			return
		}
		maxItems = &n
	}
	offset := -1
	if v, ok := q["offset"]; ok {
		n, ok := comfywire.PyInt(v[0])
		if !ok {
			internalError(w)
			return
		}
		offset = n
	}
	s.mu.Lock()
	page := s.history.Page(maxItems, offset)
	s.mu.Unlock()
	ids := make([]string, len(page))
	entries := make([]*historyItem, len(page))
	for i, e := range page {
		ids[i], entries[i] = e.ID, e.Value
	}
	writeHistory(w, ids, entries)
}

func (s *Server) handleGetHistoryItem(w http.ResponseWriter, _ *http.Request, p map[string]string) {
	id := p["prompt_id"]
	s.mu.Lock()
	e, ok := s.history.Get(id)
	s.mu.Unlock()
	if !ok {
		comfywire.WriteJSONBytes(w, http.StatusOK, []byte("{}"))
		return
	}
	writeHistory(w, []string{id}, []*historyItem{e})
}

// readClearBody reads the body of POST /history or POST /queue and whether
// it asks for a clear; ok is false when the response (a 500 for a body that
// is no dict) was already written. Each handler reads "delete" itself,
// after acting on "clear", as Python does.
func (s *Server) readClearBody(w http.ResponseWriter, r *http.Request) (v any, clear, ok bool) {
	if v, ok = s.readJSON(w, r); !ok {
		return nil, false, false
	}
	clear, err := comfywire.ClearRequested(v)
	if err != nil {
		internalError(w)
		return nil, false, false
	}
	return v, clear, true
}

// handlePostHistory is POST /history: {"clear": true} and/or
// {"delete": [ids]}; an empty 200.
func (s *Server) handlePostHistory(w http.ResponseWriter, r *http.Request, _ map[string]string) {
	v, clear, ok := s.readClearBody(w, r)
	if !ok {
		return
	}
	if clear {
		s.mu.Lock()
		s.history.Clear()
		s.mu.Unlock()
	}
	ids, err := comfywire.DeleteIDs(v)
	if err != nil {
		internalError(w)
		return
	}
	for _, id := range ids {
		switch x := id.(type) {
		case []any, comfyjson.Object:
			internalError(w) // unhashable
			return
		case string:
			s.mu.Lock()
			s.history.Delete(x)
			s.mu.Unlock()
		}
	}
	comfywire.WriteEmpty(w, http.StatusOK)
}
