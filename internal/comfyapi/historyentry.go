package comfyapi

import (
	"context"
	"encoding/json"
	"slices"

	"github.com/comfygate/comfygate/comfy"
	"github.com/comfygate/comfygate/internal/job"
)

// storedEntry is a ComfyUI history entry as the fleet saved it, with the
// parts this surface shows kept raw.
type storedEntry struct {
	Outputs map[string]json.RawMessage `json:"outputs"`
	Status  comfy.HistoryStatus        `json:"status"`
	Meta    json.RawMessage            `json:"meta,omitempty"`
}

// historyEntry renders j as a ComfyUI history entry: the prompt as the
// client sent it, the outputs under the names this surface shows, the
// status messages with the client's prompt_id. A job without a saved
// entry (run before the fleet kept them, or ended by comfygate itself)
// gets one made from its own record.
func (h *Handler) historyEntry(ctx context.Context, j *job.Job, m job.ComfyMeta) (json.RawMessage, error) {
	h.names.recent.finished(j) // its outputs' downloads come next
	pid := m.PromptIDFor(j)
	var e storedEntry
	if len(j.ComfyHistory) == 0 || json.Unmarshal(j.ComfyHistory, &e) != nil {
		e = entryFromJob(j, pid)
	} else if j.State != job.StateSucceeded && e.Status.Outcome() == comfy.EventExecutionSuccess {
		// The run succeeded but comfygate could not keep its outputs.
		e.Status = entryFromJob(j, pid).Status
	}
	cached := cachedNodes(e.Status)
	outputs := make(map[string]json.RawMessage, len(e.Outputs))
	for node, out := range e.Outputs {
		renamed, err := renameFiles(out, func(ref comfy.FileRef) (comfy.FileRef, error) {
			return h.names.outputName(ctx, j.Owner, j.ID, j.Backend, ref, cached[node])
		})
		if err != nil {
			return nil, err
		}
		outputs[node] = renamed
	}
	status := e.Status
	status.Messages = slices.Clone(status.Messages)
	renames := stagedRenames(j.Graph, m.Inputs)
	for i, msg := range status.Messages {
		data := unstage(withPromptID(msg.Data, pid), renames)
		if msg.Event == comfy.EventExecutionError {
			data = h.shownErrorData(j.Owner, data)
		}
		status.Messages[i].Data = data
	}
	meta := e.Meta
	if len(meta) == 0 || string(meta) == "null" {
		meta = metaFor(outputs)
	}
	return json.Marshal(struct {
		Prompt  comfy.QueueItem            `json:"prompt"`
		Outputs map[string]json.RawMessage `json:"outputs"`
		Status  comfy.HistoryStatus        `json:"status"`
		Meta    json.RawMessage            `json:"meta"`
	}{queueItem(j, m), outputs, status, meta})
}

// cachedNodes are the nodes of the run's execution_cached message.
func cachedNodes(s comfy.HistoryStatus) map[string]bool {
	out := map[string]bool{}
	for _, msg := range s.Messages {
		if msg.Event != comfy.EventExecutionCached {
			continue
		}
		var d comfy.ExecutionCached
		if json.Unmarshal(msg.Data, &d) == nil {
			for _, n := range d.Nodes {
				out[n] = true
			}
		}
	}
	return out
}

// withPromptID sets the "prompt_id" of an object to pid (the backend knew
// the attempt's id, the client knows its own).
func withPromptID(data json.RawMessage, pid string) json.RawMessage {
	var m map[string]json.RawMessage
	if json.Unmarshal(data, &m) != nil {
		return data
	}
	if _, ok := m["prompt_id"]; !ok {
		return data
	}
	m["prompt_id"], _ = json.Marshal(pid)
	out, err := json.Marshal(m)
	if err != nil {
		return data
	}
	return out
}

// metaFor is ComfyUI's history "meta" for outputs of top-level nodes.
func metaFor(outputs map[string]json.RawMessage) json.RawMessage {
	meta := make(map[string]comfy.OutputMeta, len(outputs))
	for node := range outputs {
		meta[node] = comfy.OutputMeta{NodeID: node, DisplayNode: node, RealNodeID: node}
	}
	b, _ := json.Marshal(meta)
	return b
}

// entryFromJob makes a history entry from the job's own record.
func entryFromJob(j *job.Job, pid string) storedEntry {
	e := storedEntry{Outputs: map[string]json.RawMessage{}}
	byNode := map[string]map[string][]any{}
	for _, o := range j.Outputs {
		if byNode[o.NodeID] == nil {
			byNode[o.NodeID] = map[string][]any{}
		}
		if o.Kind == "text" && o.ArtifactID == "" {
			byNode[o.NodeID]["text"] = append(byNode[o.NodeID]["text"], o.Text)
			continue
		}
		byNode[o.NodeID][o.Kind] = append(byNode[o.NodeID][o.Kind], comfy.FileRef{Filename: o.Filename, Subfolder: o.Subfolder, Type: o.Type})
	}
	for node, out := range byNode {
		e.Outputs[node], _ = json.Marshal(out)
	}
	e.Status = statusFromJob(j, pid)
	return e
}

func statusFromJob(j *job.Job, pid string) comfy.HistoryStatus {
	s := comfy.HistoryStatus{StatusStr: comfy.StatusError, Messages: []comfy.StatusMessage{}}
	add := func(ev comfy.Event) {
		data, _ := json.Marshal(ev)
		s.Messages = append(s.Messages, comfy.StatusMessage{Event: ev.EventType(), Data: data})
	}
	if !j.StartedAt.IsZero() {
		add(comfy.ExecutionStart{PromptID: pid, Timestamp: j.StartedAt.UnixMilli()})
		add(comfy.ExecutionCached{Nodes: []string{}, PromptID: pid, Timestamp: j.StartedAt.UnixMilli()})
	}
	switch ev := endEvent(j, pid); ev.(type) {
	case comfy.ExecutionSuccess:
		s.StatusStr, s.Completed = comfy.StatusSuccess, true
		add(ev)
	case nil:
	default:
		add(ev)
	}
	return s
}

// endEvent is the event that ends j's run as ComfyUI would have sent it:
// success, error (comfygate's own failures included, with their type and
// message) or interrupt; nil for a job that is not over.
func endEvent(j *job.Job, pid string) comfy.Event {
	ts := j.FinishedAt.UnixMilli()
	switch j.State {
	case job.StateSucceeded:
		return comfy.ExecutionSuccess{PromptID: pid, Timestamp: ts}
	case job.StateCancelled:
		e := comfy.ExecutionInterrupted{PromptID: pid, Executed: []string{}, Timestamp: ts}
		if j.Error != nil {
			e.NodeID, e.NodeType = j.Error.NodeID, j.Error.NodeType
		}
		return e
	case job.StateFailed:
		e := comfy.ExecutionError{PromptID: pid, Executed: []string{}, CurrentInputs: json.RawMessage("{}"),
			CurrentOutputs: []string{}, Traceback: []string{}, Timestamp: ts, ExceptionType: "Exception"}
		if j.Error != nil {
			e.NodeID, e.NodeType, e.ExceptionType = j.Error.NodeID, j.Error.NodeType, j.Error.Type
			e.ExceptionMessage, e.Traceback = j.Error.Message, append([]string{}, j.Error.Traceback...)
		}
		return e
	}
	return nil
}

// renameFiles replaces the filename and subfolder of every file object in
// a node's UI output ({"images": [{"filename", "subfolder", "type"}], ...})
// of type output or temp with the ones rename gives; everything else is
// kept.
func renameFiles(out json.RawMessage, rename func(comfy.FileRef) (comfy.FileRef, error)) (json.RawMessage, error) {
	var keys map[string]json.RawMessage
	if json.Unmarshal(out, &keys) != nil {
		return out, nil
	}
	changed := false
	for k, v := range keys {
		var items []json.RawMessage
		if json.Unmarshal(v, &items) != nil {
			continue
		}
		itemChanged := false
		for i, it := range items {
			renamed, ok, err := renameFile(it, rename)
			if err != nil {
				return nil, err
			}
			if ok {
				items[i], itemChanged = renamed, true
			}
		}
		if itemChanged {
			keys[k], _ = json.Marshal(items)
			changed = true
		}
	}
	if !changed {
		return out, nil
	}
	return json.Marshal(keys)
}

// renameFile renames one item of a UI output list if it is a file object
// of type output or temp; ok is false when it is left as it is.
func renameFile(it json.RawMessage, rename func(comfy.FileRef) (comfy.FileRef, error)) (json.RawMessage, bool, error) {
	var obj map[string]json.RawMessage
	if json.Unmarshal(it, &obj) != nil {
		return nil, false, nil
	}
	var ref comfy.FileRef
	if json.Unmarshal(it, &ref) != nil || ref.Filename == "" || ref.Type == comfy.FileTypeInput {
		return nil, false, nil
	}
	shown, err := rename(ref)
	if err != nil {
		return nil, false, err
	}
	obj["filename"], _ = json.Marshal(shown.Filename)
	if _, has := obj["subfolder"]; has || shown.Subfolder != ref.Subfolder {
		obj["subfolder"], _ = json.Marshal(shown.Subfolder)
	}
	out, _ := json.Marshal(obj)
	return out, true, nil
}

// shownErrorData is an execution_error's data as owner may read it: the
// backend's exception message and traceback through the use cases'
// TextFor (paths and addresses are the deployment's, not the caller's);
// every other member is kept as it was.
func (h *Handler) shownErrorData(owner string, data json.RawMessage) json.RawMessage {
	var m map[string]json.RawMessage
	if json.Unmarshal(data, &m) != nil {
		return data
	}
	changed := false
	var msg string
	if json.Unmarshal(m["exception_message"], &msg) == nil {
		if shown := h.gw.TextFor(owner, msg); shown != msg {
			m["exception_message"], _ = json.Marshal(shown)
			changed = true
		}
	}
	var tb []string
	if json.Unmarshal(m["traceback"], &tb) == nil && tb != nil {
		if shown := h.linesFor(owner, tb); !slices.Equal(shown, tb) {
			m["traceback"], _ = json.Marshal(shown)
			changed = true
		}
	}
	if !changed {
		return data
	}
	out, err := json.Marshal(m)
	if err != nil {
		return data
	}
	return out
}

// linesFor is TextFor for each line of a traceback.
func (h *Handler) linesFor(owner string, lines []string) []string {
	if lines == nil {
		return nil
	}
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = h.gw.TextFor(owner, l)
	}
	return out
}
