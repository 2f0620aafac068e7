package engine

import (
	"encoding/json"
	"strconv"

	"github.com/comfygate/comfygate/comfy"
	"github.com/comfygate/comfygate/comfy/comfyjson"
)

// progressRegistry is comfy_execution.progress.ProgressRegistry for one
// prompt. Values keep Python's int/float distinction: an entry created on
// the fly starts as 0/1 (ints), a started node as 0.0/1.0, a sampler reports
// ints, and finishing copies max into value.
type progressRegistry struct {
	promptID string
	order    []string
	nodes    map[string]*progressEntry
}

type progressEntry struct {
	state      string
	value, max json.Number
}

func newProgressRegistry(promptID string) *progressRegistry {
	return &progressRegistry{promptID: promptID, nodes: map[string]*progressEntry{}}
}

func (r *progressRegistry) entry(id string) *progressEntry {
	e, ok := r.nodes[id]
	if !ok {
		e = &progressEntry{state: comfy.NodeStatePending, value: "0", max: "1"}
		r.nodes[id] = e
		r.order = append(r.order, id)
	}
	return e
}

func (r *progressRegistry) start(id string) progressSnapshot {
	e := r.entry(id)
	e.state, e.value, e.max = comfy.NodeStateRunning, "0.0", "1.0"
	return r.snapshot()
}

func (r *progressRegistry) update(id string, value, max int) progressSnapshot {
	e := r.entry(id)
	e.state, e.value, e.max = comfy.NodeStateRunning, json.Number(strconv.Itoa(value)), json.Number(strconv.Itoa(max))
	return r.snapshot()
}

func (r *progressRegistry) finish(id string) progressSnapshot {
	e := r.entry(id)
	e.state, e.value = comfy.NodeStateFinished, e.max
	return r.snapshot()
}

// progressSnapshot is a progress_state message that keeps its nodes in the
// order they were touched, as ComfyUI's dict does (comfy.ProgressState holds
// them in a map, which encodes sorted).
type progressSnapshot struct {
	comfy.ProgressState
	order []string
}

// MarshalJSON writes the snapshot with nodes in touch order.
func (p progressSnapshot) MarshalJSON() ([]byte, error) {
	nodes := comfyjson.Object{}
	for _, id := range p.order {
		nodes = append(nodes, comfyjson.Member{Key: id, Value: p.Nodes[id]})
	}
	return json.Marshal(comfyjson.Object{{Key: "prompt_id", Value: p.PromptID}, {Key: "nodes", Value: nodes}})
}

// snapshot is the progress_state message: every node that is not pending.
func (r *progressRegistry) snapshot() progressSnapshot {
	ps := progressSnapshot{ProgressState: comfy.ProgressState{PromptID: r.promptID, Nodes: make(map[string]comfy.NodeProgress, len(r.order))}}
	for _, id := range r.order {
		e := r.nodes[id]
		if e.state == comfy.NodeStatePending {
			continue
		}
		ps.order = append(ps.order, id)
		ps.Nodes[id] = comfy.NodeProgress{
			Value: e.value, Max: e.max, State: e.state,
			NodeID: id, PromptID: r.promptID, DisplayNodeID: id, RealNodeID: id,
		}
	}
	return ps
}
