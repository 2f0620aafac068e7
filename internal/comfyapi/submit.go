package comfyapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/google/uuid"

	"github.com/comfygate/comfygate/comfy"
	"github.com/comfygate/comfygate/internal/events"
	"github.com/comfygate/comfygate/internal/job"
	"github.com/comfygate/comfygate/workflow"
)

// postPrompt is POST /prompt: ComfyUI's answers (200 with node_errors for
// a partly valid prompt, 400 {error, node_errors}, plain-text 500 for
// malformed bodies), validated against the fleet's merged catalog so that
// errors come back even while every backend is busy. An accepted prompt
// is stored as a comfygate job before the answer is sent.
func (h *Handler) postPrompt(c *call) {
	data, err := h.readBody(c.r)
	if err != nil {
		h.bodyError(c.w, c.r, err)
		return
	}
	body, err := workflow.DecodePromptBodyLimits(data, h.cfg.Limits)
	advances := err == nil && body.Number == nil || err != nil && advancesCounter(data)
	num, numErr := h.assignNumber(advances, body)
	if err != nil {
		h.answerDecodeError(c.w, err)
		return
	}
	if numErr != nil {
		writeJSON(c.w, http.StatusBadRequest, invalidPrompt("Invalid number", numErr.Error()))
		return
	}
	if cid, has := clientOf(body); has && h.clientTaken(c.r.Context(), c.owner, cid) {
		writeEmpty(c.w, http.StatusForbidden) // another key's client id
		return
	}
	res, ok := h.validate(c, body)
	if !ok {
		return
	}
	j, err := h.newJob(c.r.Context(), c.owner, body, res, num)
	if err != nil {
		h.answerSubmitError(c, err)
		return
	}
	m := metaOf(j)
	writeJSON(c.w, http.StatusOK, comfy.PromptResponse{PromptID: promptIDOf(j, m), Number: m.Number, NodeErrors: res.NodeErrors})
}

func (h *Handler) answerDecodeError(w http.ResponseWriter, err error) {
	var pe *comfy.PromptError
	var le *workflow.LimitError
	switch {
	case errors.As(err, &pe):
		writeJSON(w, pe.Status, pe.Body())
	case errors.As(err, &le):
		writeJSON(w, http.StatusBadRequest, invalidPrompt("Prompt too large", le.Error()))
	default:
		internalError(w)
	}
}

// invalidPrompt is a 400 body for problems ComfyUI has no error type of
// its own for (limits, a fleet that cannot run the graph).
func invalidPrompt(msg, details string) comfy.PromptErrorBody {
	return comfy.PromptErrorBody{Error: comfy.ErrorInfo{Type: "invalid_prompt", Message: msg, Details: details,
		ExtraInfo: map[string]any{}}, NodeErrors: map[string]comfy.NodeError{}}
}

// validate checks the prompt as ComfyUI would and answers the request when
// it is refused. Without a catalog (no backend answered yet) the prompt is
// taken as is and the backend validates it.
func (h *Handler) validate(c *call, body *workflow.PromptBody) (workflow.Result, bool) {
	cat := h.fleet.Catalog()
	if cat == nil {
		return workflow.Result{Graph: body.Prompt, NodeErrors: map[string]comfy.NodeError{}}, true
	}
	exists := h.inputExists(c.r.Context(), c.owner, cat)
	res := cat.Validate(body.Prompt, body.ValidateOptions(exists))
	switch {
	case res.Err != nil:
		internalError(c.w)
		return res, false
	case !res.OK():
		writeJSON(c.w, http.StatusBadRequest, comfy.PromptErrorBody{Error: *res.Error, NodeErrors: res.NodeErrors})
		return res, false
	}
	return res, true
}

// submitError is a refusal after validation, answered as ComfyUI's 400.
type submitError struct{ msg, details string }

func (e *submitError) Error() string { return e.msg + ": " + e.details }

// errOverloaded: the backlog is at MaxQueued.
var errOverloaded = errors.New("queue is full")

func (h *Handler) answerSubmitError(c *call, err error) {
	var se *submitError
	switch {
	case errors.As(err, &se):
		writeJSON(c.w, http.StatusBadRequest, invalidPrompt(se.msg, se.details))
	case errors.Is(err, errOverloaded):
		c.w.Header().Set("Retry-After", "5")
		writeText(c.w, http.StatusServiceUnavailable, "503: Service Unavailable: the queue is full")
	default:
		h.unavailable(c, "storing the prompt", err)
	}
}

// newJob stages the prompt's file inputs, stores the job and announces it.
func (h *Handler) newJob(ctx context.Context, owner string, body *workflow.PromptBody, res workflow.Result, num number) (*job.Job, error) {
	if h.tracker.total() >= h.cfg.MaxQueued {
		return nil, errOverloaded
	}
	inputs, err := h.stageInputs(ctx, owner, res.Graph)
	if err != nil {
		return nil, err
	}
	if err := h.fleet.CheckRunnable(res.Graph); err != nil {
		return nil, &submitError{msg: "Cannot execute because no backend can run this prompt", details: err.Error()}
	}
	graph, err := json.Marshal(res.Graph)
	if err != nil {
		return nil, fmt.Errorf("encode graph: %w", err)
	}
	promptID := body.PromptID
	if !body.HasPromptID {
		promptID = uuid.NewString()
	}
	clientID, hasClient := clientOf(body)
	m := comfyMeta{Number: num.lit, Client: hasClient, Inputs: inputs}
	extra, hook, err := takeWebhook(body.ExtraDataWithClientID(), h.cfg.CheckWebhook)
	if err != nil {
		return nil, &submitError{msg: "Invalid webhook", details: err.Error()}
	}
	j := &job.Job{
		Owner: owner, Source: job.SourceComfy, ClientID: clientID, Graph: graph,
		OutputNodes: res.Outputs, ExtraData: extra, Priority: num.tier,
		Number: num.value, MaxAttempts: h.cfg.MaxAttempts, State: job.StateQueued, CreatedAt: h.cfg.Clock(),
		Webhook: hook.URL, WebhookEvents: hook.Events,
	}
	// The job is stored with its "queued" event in one commit; the owner's
	// jobs waiting before it are its position.
	data, _ := json.Marshal(map[string]int{"position": h.tracker.pending(owner)})
	stored, first, err := h.createJob(ctx, j, &job.Event{Type: job.EventQueued, Data: data}, promptID, m)
	if err != nil {
		return nil, err
	}
	h.announce(stored, first, metaOf(stored))
	return stored, nil
}

// clientOf reads the client id ComfyUI routes the prompt's events to:
// extra_data.client_id after the top-level client_id was copied in. A
// prompt has one when the key is there at all (a client_id of "", or one
// that is not a string, still makes ComfyUI target, and so drop, its
// events).
func clientOf(body *workflow.PromptBody) (id string, has bool) {
	var extra map[string]json.RawMessage
	if json.Unmarshal(body.ExtraDataWithClientID(), &extra) != nil {
		return "", false
	}
	raw, has := extra["client_id"]
	if has {
		_ = json.Unmarshal(raw, &id) // a non-string id matches no socket
	}
	return id, has
}

// createJob stores j and its first event under the job id of promptID. A
// prompt_id used before
// (ComfyUI allows it; the latest run wins in history) gets the next
// generation's id, and the previous generation is marked superseded.
func (h *Handler) createJob(ctx context.Context, j *job.Job, first *job.Event, promptID string, m comfyMeta) (*job.Job, *job.Event, error) {
	id := firstID(j.Owner, promptID)
	for gen := 1; gen <= maxGenerations; gen++ {
		if id != promptID {
			m.PromptID = promptID
		}
		j.ID, j.Comfy = id, m.raw()
		stored, _, ev, err := h.store.CreateJobWithEvent(ctx, j, first)
		if err == nil {
			if gen > 1 {
				h.supersede(ctx, j.Owner, promptID, gen-1)
			}
			return stored, ev, nil
		}
		if !errors.Is(err, job.ErrDuplicateID) {
			return nil, nil, fmt.Errorf("store job: %w", err)
		}
		id = derivedID(j.Owner, promptID, gen+1)
		if gen == 1 && canonicalUUID(promptID) {
			if prev, perr := h.store.GetJob(ctx, promptID); perr == nil && prev.Owner != j.Owner {
				id, gen = derivedID(j.Owner, promptID, 1), 0 // another key's job: start our own chain
			}
		}
	}
	return nil, nil, &submitError{msg: "Invalid prompt_id", details: fmt.Sprintf("prompt_id %q was used more than %d times", promptID, maxGenerations)}
}

// maxGenerations bounds how often one prompt_id may be reused.
const maxGenerations = 1000

func (h *Handler) supersede(ctx context.Context, owner, promptID string, gen int) {
	id := derivedID(owner, promptID, gen)
	if gen == 1 {
		id = firstID(owner, promptID)
	}
	_, err := h.store.UpdateJob(ctx, id, func(j *job.Job) error {
		m := metaOf(j)
		m.Superseded = true
		j.Comfy = m.raw()
		return nil
	})
	if err != nil {
		h.log.Warn("comfyapi: marking a reused prompt_id's earlier job failed", "job", id, "err", err)
	}
}

// announce tells the relay, the event streams and the scheduler about a
// stored job and its first event, after their commit.
func (h *Handler) announce(j *job.Job, first *job.Event, m comfyMeta) {
	h.relay.register(j, m)
	if h.tracker.add(j.Owner, j.ID, job.StateQueued) {
		h.relay.status(j.Owner, h.tracker.count(j.Owner)) // ComfyUI broadcasts the new count on enqueue
	}
	h.cfg.Hub.Publish(events.FromStore(j.Owner, *first))
	h.fleet.Enqueue(j.ID)
}
