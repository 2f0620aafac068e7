package comfysim

import (
	"bytes"
	"encoding/json"
	"maps"
	"net/http"
	"sync"
	"time"

	"github.com/comfygate/comfygate/comfy/comfysim/internal/engine"
)

// SetFault applies u (see FaultUpdate). Invalid values change nothing and
// return an error.
func (s *Server) SetFault(u FaultUpdate) error {
	if err := s.knobs.update(u); err != nil {
		return err
	}
	if u.Hang != nil {
		s.SetHang(*u.Hang)
	}
	if u.CloseSockets {
		s.CloseAllSockets()
	}
	if u.Crash {
		s.Crash()
	}
	return nil
}

// Faults returns the current fault settings.
func (s *Server) Faults() Faults { return s.knobs.get() }

// SetStepDelay sets how long one sampler step takes.
func (s *Server) SetStepDelay(d time.Duration) {
	s.setDuration(&FaultUpdate{StepDelay: durationPtr(d)})
}

// SetNodeDelay sets the minimum time of every executed node.
func (s *Server) SetNodeDelay(d time.Duration) {
	s.setDuration(&FaultUpdate{NodeDelay: durationPtr(d)})
}

// SetClassDelay makes every node of class take at least d (0 removes the
// override, leaving the global node delay).
func (s *Server) SetClassDelay(class string, d time.Duration) {
	_ = s.knobs.update(FaultUpdate{ClassDelays: map[string]Duration{class: Duration(max(d, 0))}})
}

// SetViewDelay delays every GET /view answer.
func (s *Server) SetViewDelay(d time.Duration) {
	s.setDuration(&FaultUpdate{ViewDelay: durationPtr(d)})
}

// SetFailNode makes nodes of class raise a RuntimeError ("" turns it off).
func (s *Server) SetFailNode(class string) { _ = s.knobs.update(FaultUpdate{FailNode: &class}) }

// SetCrashNode makes the server crash when a node of class starts
// executing ("" turns it off), as a real backend dies on a prompt: a
// process running the simulator alone (comfygate sim) exits, an embedded
// one stops abruptly (see Crash) without taking its host process down.
func (s *Server) SetCrashNode(class string) { _ = s.knobs.update(FaultUpdate{CrashNode: &class}) }

func (s *Server) setDuration(u *FaultUpdate) { _ = s.knobs.update(*u) }

func durationPtr(d time.Duration) *Duration {
	v := Duration(max(d, 0))
	return &v
}

// SetHang stops (true) or resumes (false) the worker and every socket's
// writer: prompts stop progressing and sockets go silent but stay open,
// like a server stuck in a long CUDA call.
func (s *Server) SetHang(on bool) {
	s.knobs.setHang(on)
	if on {
		s.hub.Pause()
	} else {
		s.hub.Resume()
	}
}

// CloseAllSockets closes every WebSocket connection with a going-away close
// frame. The server keeps running; clients may reconnect.
func (s *Server) CloseAllSockets() { s.hub.CloseAll(true) }

func (s *Server) handleGetFaults(w http.ResponseWriter, _ *http.Request, _ map[string]string) {
	writeJSON(w, http.StatusOK, s.Faults())
}

func (s *Server) handlePostFaults(w http.ResponseWriter, r *http.Request, _ map[string]string) {
	data, err := s.readBody(r)
	if err != nil {
		s.bodyError(w, r, err)
		return
	}
	var u FaultUpdate
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&u); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "fault update: " + err.Error()})
		return
	}
	crash := u.Crash
	u.Crash = false
	if err := s.SetFault(u); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, s.Faults())
	if crash {
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.closed {
			return
		}
		s.bg.Add(1)
		go func() { // after this answer is on its way
			defer s.bg.Done()
			s.Crash()
		}()
	}
}

// Stats counts what the simulator has seen (GET /sim/stats).
type Stats struct {
	PromptsReceived    int64 `json:"prompts_received"`
	PromptsRejected    int64 `json:"prompts_rejected"`
	PromptsExecuted    int64 `json:"prompts_executed"`
	PromptsSucceeded   int64 `json:"prompts_succeeded"`
	PromptsFailed      int64 `json:"prompts_failed"`
	PromptsInterrupted int64 `json:"prompts_interrupted"`
	NodesExecuted      int64 `json:"nodes_executed"`
	// ExecutionsByPromptID counts runs per prompt id (ids may be reused).
	ExecutionsByPromptID map[string]int `json:"executions_by_prompt_id"`
	Sockets              int            `json:"sockets"`
}

type stats struct {
	mu sync.Mutex // guards s
	s  Stats
}

func newStats() *stats {
	return &stats{s: Stats{ExecutionsByPromptID: map[string]int{}}}
}

func (st *stats) received() {
	st.mu.Lock()
	st.s.PromptsReceived++
	st.mu.Unlock()
}

func (st *stats) rejected() {
	st.mu.Lock()
	st.s.PromptsRejected++
	st.mu.Unlock()
}

func (st *stats) executed(promptID string, res engine.Result) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.s.PromptsExecuted++
	st.s.ExecutionsByPromptID[promptID]++
	st.s.NodesExecuted += int64(res.Executed)
	switch {
	case res.Success:
		st.s.PromptsSucceeded++
	case res.Interrupted:
		st.s.PromptsInterrupted++
	default:
		st.s.PromptsFailed++
	}
}

// Stats returns a snapshot of the counters.
func (s *Server) Stats() Stats {
	s.stats.mu.Lock()
	out := s.stats.s
	out.ExecutionsByPromptID = maps.Clone(s.stats.s.ExecutionsByPromptID)
	s.stats.mu.Unlock()
	out.Sockets = s.hub.Count()
	return out
}

func (s *Server) handleSimStats(w http.ResponseWriter, _ *http.Request, _ map[string]string) {
	writeJSON(w, http.StatusOK, s.Stats())
}
