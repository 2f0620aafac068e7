package comfyapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/comfygate/comfygate/comfy"
	"github.com/comfygate/comfygate/internal/gateway"
	"github.com/comfygate/comfygate/internal/job"
	"github.com/comfygate/comfygate/workflow"
)

// postPrompt is POST /prompt: ComfyUI's answers (200 with node_errors for
// a partly valid prompt, 400 {error, node_errors}, plain-text 500 for
// malformed bodies), validated against the fleet's merged catalog so that
// errors come back even while every backend is busy. An accepted prompt
// goes to the one submit use case, which stores it as a comfygate job
// before the answer is sent.
func (h *Handler) postPrompt(c *call) error {
	data, err := h.readBody(c)
	if err != nil {
		return err
	}
	body, err := workflow.DecodePromptBodyLimits(data, h.cfg.Limits)
	advances := err == nil && body.Number == nil || err != nil && advancesCounter(data)
	num, numErr := h.assignNumber(advances, body)
	if err != nil {
		return err
	}
	if numErr != nil {
		return invalidPrompt("Invalid number", numErr.Error())
	}
	clientID, hasClient := clientOf(body)
	if hasClient && h.clientTaken(c.r.Context(), c.owner, clientID) {
		return statusOnly(http.StatusForbidden) // another key's client id
	}
	res, err := h.validate(c, body)
	if err != nil {
		return err
	}
	extra, hook, err := takeWebhook(body.ExtraDataWithClientID(), h.gw.CheckWebhook)
	if err != nil {
		return invalidPrompt("Invalid webhook", err.Error())
	}
	sub := job.Submission{
		Source: job.SourceComfy, Owner: c.owner, ClientID: clientID, HasClientID: hasClient,
		Number: num.lit, ExtraData: extra, Outputs: res.Outputs,
		Priority: num.tier, Webhook: hook.URL, WebhookEvents: hook.Events,
	}
	if body.HasPromptID {
		sub.PromptID = body.PromptID
	}
	done, err := h.submit(c.r.Context(), sub, res)
	if err != nil {
		return nodeRefusal(err, res.Graph)
	}
	m := job.ComfyMetaOf(done.Job)
	h.follow(done.Job, m)
	writeJSON(c.w, http.StatusOK, comfy.PromptResponse{PromptID: m.PromptIDFor(done.Job), Number: m.Number, NodeErrors: res.NodeErrors})
	return nil
}

// validate checks the prompt as ComfyUI would, with the caller's files
// for LoadImage's checks, and returns ComfyUI's refusal. Without a catalog
// (no backend answered yet) the prompt is taken as is and the backend
// validates it.
func (h *Handler) validate(c *call, body *workflow.PromptBody) (workflow.Result, error) {
	cat := h.gw.Catalog()
	if cat == nil {
		return workflow.Result{Graph: body.Prompt, NodeErrors: map[string]comfy.NodeError{}}, nil
	}
	res := cat.Validate(body.Prompt, body.ValidateOptions(h.gw.InputExists(c.r.Context(), c.owner)))
	switch {
	case res.Err != nil:
		return res, res.Err
	case !res.OK():
		return res, &comfy.PromptError{Status: http.StatusBadRequest, Info: *res.Error, NodeErrors: res.NodeErrors}
	}
	return res, nil
}

// submit hands the prompt to the one submit use case: as the graph
// validate checked (Validate lists the outputs that passed), not to be
// parsed and validated a second time; or, taken without a catalog, as
// JSON, which the use case validates if a catalog has come since.
func (h *Handler) submit(ctx context.Context, sub job.Submission, res workflow.Result) (gateway.Submitted, error) {
	if res.Outputs != nil {
		return h.gw.SubmitParsed(ctx, sub, res.Graph)
	}
	graph, err := json.Marshal(res.Graph)
	if err != nil {
		return gateway.Submitted{}, fmt.Errorf("encode graph: %w", err)
	}
	sub.Prompt = graph
	return h.gw.Submit(ctx, sub)
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

// follow makes a job this surface submitted known to the relay and the
// queue counts at once, and broadcasts the new count as ComfyUI does on
// enqueue; the job's lifecycle events keep them current from then on.
func (h *Handler) follow(j *job.Job, m job.ComfyMeta) {
	h.relay.register(j, m)
	if h.tracker.add(j.Owner, j.ID, job.StateQueued) {
		h.relay.status(j.Owner, h.tracker.count(j.Owner))
	}
}
