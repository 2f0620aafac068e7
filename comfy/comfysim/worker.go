package comfysim

import (
	"time"

	"github.com/comfygate/comfygate/comfy"
	"github.com/comfygate/comfygate/comfy/comfyjson"
	"github.com/comfygate/comfygate/comfy/comfysim/internal/engine"
)

// worker is ComfyUI's prompt_worker thread: take the smallest item, run it,
// write history, report, apply /free flags; repeat until Close.
func (s *Server) worker() {
	defer close(s.workerEnd)
	for {
		it, flags, ok := s.next()
		if !ok {
			return
		}
		if it != nil {
			s.runItem(it)
		}
		if flags.freeMemory {
			s.exec.Reset()
		}
	}
}

// next blocks until there is a prompt to run or flags to apply. It pops the
// prompt, moves it to running and broadcasts the (unchanged) count.
func (s *Server) next() (*item, serverFlags, bool) {
	for {
		if err := s.knobs.Checkpoint(s.ctx); err != nil {
			return nil, serverFlags{}, false
		}
		s.mu.Lock()
		// Flags set before the next prompt is taken apply first, as the
		// real worker wakes up for them while idle.
		if flags := s.flags; flags != (serverFlags{}) {
			s.flags = serverFlags{}
			s.mu.Unlock()
			return nil, flags, true
		}
		if popped, ok := s.pending.Pop(); ok {
			s.running = popped.Value
			s.queueUpdatedLocked()
			s.mu.Unlock()
			return popped.Value, serverFlags{}, true
		}
		s.mu.Unlock()
		select {
		case <-s.wake:
		case <-s.ctx.Done():
			return nil, serverFlags{}, false
		}
	}
}

func (s *Server) runItem(it *item) {
	defer s.recoverItem(it)
	started := time.Now()
	job := &engine.Job{
		PromptID:  it.promptID,
		Graph:     it.graph,
		Prompt:    it.prompt,
		ExtraData: it.extra,
		Outputs:   it.outputs,
	}
	res := s.exec.Execute(s.ctx, job)
	if s.ctx.Err() != nil {
		return // Close or Crash: the prompt is lost, as in a dead server
	}
	s.stats.executed(it.promptID, res)
	entry := newHistoryItem(it, res)

	s.finishItem(it, entry)
	s.logf("Prompt executed in %.2f seconds\n", time.Since(started).Seconds())
}

// finishItem writes the history entry, frees the running slot and sends the
// final "executing" (node null).
func (s *Server) finishItem(it *item, entry *historyItem) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.history.Put(it.promptID, entry)
	s.running = nil
	s.queueUpdatedLocked()
	if client := clientOf(it.extra); client != nil {
		s.emitLocked(comfy.Executing{PromptID: it.promptID}, client)
	}
}

// clientOf is extra_data["client_id"] as the worker reads it for the final
// "executing": nil when absent or null.
func clientOf(extra any) *string {
	obj, ok := extra.(comfyjson.Object)
	if !ok {
		return nil
	}
	v, ok := obj.Get("client_id")
	if !ok || v == nil {
		return nil
	}
	if s, isStr := v.(string); isStr {
		return &s
	}
	s := "\x00" + comfyjson.Repr(v)
	return &s
}

// recoverItem keeps the worker alive through a bug in the bookkeeping
// around a run (the run itself recovers its own panics into an
// execution_error): the prompt leaves the running slot, the failure is
// logged, and the next prompt runs.
func (s *Server) recoverItem(it *item) {
	v := recover()
	if v == nil {
		return
	}
	s.opts.Logger.Error("comfysim: internal error after running a prompt", "prompt_id", it.promptID, "panic", v)
	s.logf("comfysim: internal error after running prompt %s: %v\n", it.promptID, v)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.running == it {
		s.running = nil
		s.queueUpdatedLocked()
	}
}
