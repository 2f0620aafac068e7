package comfysim

import (
	"net/http"

	"github.com/comfygate/comfygate/comfy"
	"github.com/comfygate/comfygate/comfy/comfyjson"
	"github.com/comfygate/comfygate/comfy/comfysim/internal/queue"
	"github.com/comfygate/comfygate/internal/comfywire"
)

// queueResponse is GET /queue: running and pending as 5-element arrays, the
// pending ones in raw heap order.
type queueResponse struct {
	Running []comfy.QueueItem `json:"queue_running"`
	Pending []comfy.QueueItem `json:"queue_pending"`
}

func (s *Server) handleGetQueue(w http.ResponseWriter, _ *http.Request, _ map[string]string) {
	resp := queueResponse{Running: []comfy.QueueItem{}, Pending: []comfy.QueueItem{}}
	s.mu.Lock()
	if s.running != nil {
		resp.Running = append(resp.Running, s.running.queueItem(s.running.extra))
	}
	for _, it := range s.pending.Items() {
		resp.Pending = append(resp.Pending, it.Value.queueItem(it.Value.extra))
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, resp)
}

// handlePostQueue is POST /queue: {"clear": true} wipes the pending queue,
// {"delete": [ids]} removes pending items; always an empty 200, except the
// 500s Python raises on odd bodies.
func (s *Server) handlePostQueue(w http.ResponseWriter, r *http.Request, _ map[string]string) {
	v, clear, ok := s.readClearBody(w, r)
	if !ok {
		return
	}
	if clear {
		s.wipeQueue()
	}
	ids, err := comfywire.DeleteIDs(v)
	if err != nil {
		internalError(w)
		return
	}
	for _, id := range ids {
		s.deletePending(id)
	}
	comfywire.WriteEmpty(w, http.StatusOK)
}

func (s *Server) wipeQueue() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pending.Clear()
	s.queueUpdatedLocked()
}

// deletePending is delete_queue_item: the first pending item with that id
// goes; removing the last one "wipes" the queue, which sends one status more.
func (s *Server) deletePending(id any) bool {
	sid, ok := id.(string)
	if !ok {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	removed, wiped := s.pending.DeleteFirst(func(it queue.Item[*item]) bool { return it.PromptID == sid })
	if wiped {
		s.queueUpdatedLocked()
	}
	if removed {
		s.queueUpdatedLocked()
	}
	return removed
}

// handleInterrupt is POST /interrupt: global, or only the running prompt
// with {"prompt_id"}; always an empty 200 (a body that is JSON but not an
// object gives 500).
func (s *Server) handleInterrupt(w http.ResponseWriter, r *http.Request, _ map[string]string) {
	v, answered, err := s.decodeBody(w, r)
	if answered {
		return
	}
	if err != nil {
		v = comfyjson.Object{} // json.JSONDecodeError is caught
	}
	pid, _, err := comfyjson.DictGet(v, "prompt_id")
	if err != nil {
		internalError(w)
		return
	}
	if comfyjson.Truthy(pid) {
		s.interruptIfRunning(pid)
	} else {
		s.logf("Global interrupt (no prompt_id specified)\n")
		s.exec.Interrupt()
	}
	comfywire.WriteEmpty(w, http.StatusOK)
}

// interruptIfRunning interrupts only when pid names the running prompt.
func (s *Server) interruptIfRunning(pid any) bool {
	id, _ := pid.(string)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.running == nil || s.running.promptID != id {
		s.logf("Prompt %s is not currently running, skipping interrupt\n", comfyjson.Str(pid))
		return false
	}
	s.logf("Interrupting prompt %s\n", id)
	s.exec.Interrupt()
	return true
}

// handleFree is POST /free: flags the worker applies after the running
// prompt (free_memory also clears the node cache).
func (s *Server) handleFree(w http.ResponseWriter, r *http.Request, _ map[string]string) {
	v, ok := s.readJSON(w, r)
	if !ok {
		return
	}
	unload, _, err := comfyjson.DictGet(v, "unload_models")
	if err != nil {
		internalError(w)
		return
	}
	free, _, _ := comfyjson.DictGet(v, "free_memory")
	s.mu.Lock()
	if comfyjson.Truthy(unload) {
		s.flags.unloadModels = true
	}
	if comfyjson.Truthy(free) {
		s.flags.freeMemory = true
	}
	s.mu.Unlock()
	s.signal()
	comfywire.WriteEmpty(w, http.StatusOK)
}
