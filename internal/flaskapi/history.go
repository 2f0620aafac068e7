package flaskapi

import (
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strconv"

	"github.com/comfygate/comfygate/comfy"
	"github.com/comfygate/comfygate/internal/gateway"
	"github.com/comfygate/comfygate/internal/job"
)

// history is GET /api/history (app.py get_all_history): ComfyUI's
// /history, passed through. Here it is rendered from the caller's finished
// jobs, oldest first as ComfyUI writes it; ?max_items keeps the newest N
// (default DefaultHistoryItems, at most MaxHistoryItems).
func (h *Handler) history(w http.ResponseWriter, r *http.Request, owner string) error {
	limit, err := maxItems(r.URL.Query().Get("max_items"))
	if err != nil {
		return err
	}
	page, err := h.svc.ListJobs(r.Context(), owner, gateway.JobQuery{Limit: limit,
		States: []job.State{job.StateSucceeded, job.StateFailed, job.StateCancelled}})
	if err != nil {
		return err
	}
	out := make(comfy.History, 0, len(page.Jobs))
	for _, j := range slices.Backward(page.Jobs) {
		out = append(out, comfy.HistoryItem{PromptID: j.ID, Entry: historyEntry(j.Job)})
	}
	return writeJSON(w, http.StatusOK, out)
}

// promptHistory is GET /api/history/{prompt_id} (app.py get_history):
// {id: entry} once the job has finished, {} before and for unknown ids,
// as ComfyUI answers.
func (h *Handler) promptHistory(w http.ResponseWriter, r *http.Request, owner string) error {
	j, err := h.ownedJob(r.Context(), owner, r.PathValue("prompt_id"))
	if errors.Is(err, errNoJob) || (err == nil && !j.State.Terminal()) {
		return writeJSON(w, http.StatusOK, comfy.History{})
	}
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, comfy.History{{PromptID: j.ID, Entry: historyEntry(j.Job)}})
}

func maxItems(v string) (int, error) {
	if v == "" {
		return DefaultHistoryItems, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return 0, errorf(http.StatusBadRequest, "max_items: must be a whole number from 1 to %d, not %q", MaxHistoryItems, v)
	}
	return min(n, MaxHistoryItems), nil
}

// historyEntry renders a finished job as ComfyUI's history records it.
// extra_data keeps only the client id: the stored one may hold secrets.
func historyEntry(j *job.Job) comfy.HistoryEntry {
	extra, _ := json.Marshal(map[string]string{})
	if j.ClientID != "" {
		extra, _ = json.Marshal(map[string]string{"client_id": j.ClientID})
	}
	number := strconv.FormatFloat(j.Number, 'f', -1, 64)
	if j.Number == 0 {
		number = strconv.FormatInt(j.Seq, 10)
	}
	e := comfy.HistoryEntry{
		Prompt: comfy.QueueItem{Number: json.Number(number), PromptID: j.ID, Prompt: j.Graph,
			ExtraData: extra, OutputsToExecute: j.OutputNodes},
		Outputs: nodeOutputs(j.Outputs),
		Status:  historyStatus(j),
		Meta:    map[string]comfy.OutputMeta{},
	}
	for id := range e.Outputs {
		e.Meta[id] = comfy.OutputMeta{NodeID: id, DisplayNode: id, RealNodeID: id}
	}
	return e
}

// historyStatus rebuilds the status ComfyUI records: the start, then how
// the run ended, with the job's own times.
func historyStatus(j *job.Job) comfy.HistoryStatus {
	start := j.StartedAt
	if start.IsZero() {
		start = j.FinishedAt
	}
	msgs := []comfy.StatusMessage{message(comfy.EventExecutionStart,
		comfy.ExecutionStart{PromptID: j.ID, Timestamp: start.UnixMilli()})}
	end := j.FinishedAt.UnixMilli()
	switch j.State {
	case job.StateSucceeded:
		msgs = append(msgs, message(comfy.EventExecutionSuccess, comfy.ExecutionSuccess{PromptID: j.ID, Timestamp: end}))
		return comfy.HistoryStatus{StatusStr: comfy.StatusSuccess, Completed: true, Messages: msgs}
	case job.StateCancelled:
		msgs = append(msgs, message(comfy.EventExecutionInterrupted, comfy.ExecutionInterrupted{
			PromptID: j.ID, NodeID: j.Progress.Node, NodeType: j.Progress.NodeType, Executed: []string{}, Timestamp: end}))
	default:
		e := j.Error
		if e == nil {
			e = &job.Error{Type: "error", Message: "the job failed"}
		}
		msgs = append(msgs, message(comfy.EventExecutionError, comfy.ExecutionError{
			PromptID: j.ID, NodeID: e.NodeID, NodeType: e.NodeType, Executed: []string{},
			ExceptionMessage: e.Message, ExceptionType: e.Type, Traceback: orEmpty(e.Traceback),
			CurrentInputs: json.RawMessage("{}"), CurrentOutputs: []string{}, Timestamp: end}))
	}
	return comfy.HistoryStatus{StatusStr: comfy.StatusError, Completed: false, Messages: msgs}
}

func message(event string, data any) comfy.StatusMessage {
	raw, _ := json.Marshal(data)
	return comfy.StatusMessage{Event: event, Data: raw}
}

// nodeOutputs regroups a job's outputs into ComfyUI's per-node UI output:
// {"9": {"images": [{filename, subfolder, type}]}, "12": {"text": ["..."]}},
// each file in the subfolder its graph asked for.
func nodeOutputs(outs []job.Output) map[string]json.RawMessage {
	byNode := map[string]map[string][]any{}
	for _, o := range outs {
		kinds := byNode[o.NodeID]
		if kinds == nil {
			kinds = map[string][]any{}
			byNode[o.NodeID] = kinds
		}
		if o.Kind == "text" {
			kinds[o.Kind] = append(kinds[o.Kind], o.Text)
			continue
		}
		kinds[o.Kind] = append(kinds[o.Kind], comfy.FileRef{Filename: o.Filename, Subfolder: job.ClientSubfolder(o.Subfolder), Type: orDefault(o.Type, comfy.FileTypeOutput)})
	}
	out := make(map[string]json.RawMessage, len(byNode))
	for id, kinds := range byNode {
		out[id], _ = json.Marshal(kinds) // strings and FileRefs always encode
	}
	return out
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
