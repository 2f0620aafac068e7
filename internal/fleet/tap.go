package fleet

import (
	"encoding/json"

	"github.com/comfygate/comfygate/comfy"
)

// Tap receives every message a backend sends about a job, as ComfyUI sent
// it, for surfaces that relay ComfyUI's own protocol. Message is called in
// order per job on the backend's reader goroutine and must not block.
//
// jobID is "" for messages that belong to no job of ours (a custom node's
// broadcast while the backend runs none of our prompts). Messages carry
// the attempt's prompt id, which differs from the job id on retries.
// Messages about the backend itself (status, feature_flags) are not
// tapped. A message is tapped before the job's run sees it, so a tapped
// "executing" null always precedes the job's terminal event on the Hub.
type Tap interface {
	Message(jobID string, ev comfy.Event)
}

type nopTap struct{}

func (nopTap) Message(string, comfy.Event) {}

// tapLoose taps a message ComfyUI sends without a prompt of its own
// (progress text, custom nodes' messages): it belongs to the prompt
// promptID names if one of ours, else to the one running now, else to no
// job.
func (f *Fleet) tapLoose(b *Backend, promptID string, ev comfy.Event) {
	r := b.runFor(promptID)
	if r == nil && promptID != "" {
		r = b.runFor("")
	}
	id := ""
	if r != nil {
		id = r.jobID
	}
	f.cfg.Tap.Message(id, ev)
}

// promptIDIn reads the "prompt_id" of a custom message's data, if any.
func promptIDIn(data json.RawMessage) string {
	var d struct {
		PromptID string `json:"prompt_id"`
	}
	_ = json.Unmarshal(data, &d)
	return d.PromptID
}

// record keeps what the history entry of the run needs: the messages
// ComfyUI stores in status.messages, and each output node's meta.
func (o *observed) record(ev comfy.Event) {
	switch e := ev.(type) {
	case comfy.ExecutionStart, comfy.ExecutionCached, comfy.ExecutionSuccess, comfy.ExecutionInterrupted:
		o.message(ev)
	case comfy.ExecutionError:
		if !e.Blocked() {
			o.message(ev)
		}
	case comfy.Executed:
		if o.meta == nil {
			o.meta = map[string]comfy.OutputMeta{}
		}
		display := e.DisplayNode
		if display == "" {
			display = e.Node
		}
		o.meta[e.Node] = comfy.OutputMeta{NodeID: e.Node, DisplayNode: display, RealNodeID: e.Node}
	}
}

func (o *observed) message(ev comfy.Event) {
	data, err := json.Marshal(ev)
	if err == nil {
		o.messages = append(o.messages, comfy.StatusMessage{Event: ev.EventType(), Data: data})
	}
}

// keepHistory remembers the run's history entry (outputs, status, meta:
// the prompt tuple is the job's own) for the job's ComfyHistory.
func (r *run) keepHistory(e comfy.HistoryEntry) {
	raw, err := json.Marshal(struct {
		Outputs map[string]json.RawMessage  `json:"outputs"`
		Status  comfy.HistoryStatus         `json:"status"`
		Meta    map[string]comfy.OutputMeta `json:"meta"`
	}{orEmpty(e.Outputs), e.Status, e.Meta})
	if err == nil {
		r.history = raw
	}
}

func orEmpty(m map[string]json.RawMessage) map[string]json.RawMessage {
	if m == nil {
		return map[string]json.RawMessage{}
	}
	return m
}
