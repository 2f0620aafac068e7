package flaskapi

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/comfygate/comfygate/internal/gateway"
	"github.com/comfygate/comfygate/internal/job"
	"github.com/comfygate/comfygate/workflow"
)

// runResponse is app.py run_workflow's success body. Fields are in
// alphabetical order because Flask's jsonify sorts keys. Error is always
// null and NodeErrors always {}: they pass on ComfyUI's /prompt answer,
// and a job that failed validation is refused with a 400 instead.
type runResponse struct {
	ClientID   string         `json:"client_id"`
	Error      *string        `json:"error"`
	NodeErrors map[string]any `json:"node_errors"`
	PromptID   string         `json:"prompt_id"`
	Status     string         `json:"status"`
}

// runWorkflow is POST /api/workflow/{name} (app.py run_workflow): it
// fills the stored workflow from the body and submits it as a job.
func (h *Handler) runWorkflow(w http.ResponseWriter, r *http.Request, owner string) error {
	name := r.PathValue("name")
	if !isJSON(r.Header.Get("Content-Type")) {
		return errorf(http.StatusBadRequest, "%s", msgNotJSON)
	}
	data, err := readBody(r)
	if err != nil {
		return err
	}
	req, err := decodeRunRequest(data)
	if err != nil {
		return err
	}
	wf, err := h.svc.GetWorkflow(r.Context(), owner, name)
	if errors.Is(err, gateway.ErrNotFound) {
		return errorf(http.StatusNotFound, "Workflow %s not found", name)
	}
	if err != nil {
		return fmt.Errorf("get workflow %s: %w", name, err)
	}
	overrides := req.overrides
	if req.simple {
		if overrides, err = simpleOverride(wf, req.prompt, req.target); err != nil {
			return err
		}
	}
	// Pin the version that was read, so the node chosen above is the node
	// that runs even if the workflow is replaced meanwhile.
	clientID := fmt.Sprintf("my-api-%d", h.cfg.Now().Unix())
	res, err := h.svc.Submit(r.Context(), job.Submission{
		Source: job.SourceFlask, Owner: owner, ClientID: clientID,
		Workflow: wf.Name, Version: wf.Version, Overrides: overrides})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, runResponse{
		ClientID: clientID, NodeErrors: map[string]any{},
		PromptID: res.ID, Status: "success"})
}

// simpleOverride puts the prompt text into the target node or, without
// one, into the positive prompt.
func simpleOverride(wf gateway.Workflow, prompt, target string) (map[string]map[string]any, error) {
	g, err := workflow.ParseGraph(wf.Graph, workflow.Limits{})
	if err != nil {
		return nil, fmt.Errorf("stored workflow %s: %w", wf.Name, err)
	}
	var inputs []string
	if target != "" {
		n, ok := g[target]
		if !ok {
			return nil, errorf(http.StatusBadRequest, "Target node %s not found in workflow %s", target, wf.Name)
		}
		if inputs = textInputs(n); len(inputs) == 0 {
			return nil, errorf(http.StatusBadRequest, "Target node %s is not a text input node (it is a %s, with no text input)", target, n.ClassType)
		}
	} else if target, inputs = promptNode(g); target == "" {
		return nil, errorf(http.StatusBadRequest, "No suitable text input node found in workflow")
	}
	set := make(map[string]any, len(inputs))
	for _, in := range inputs {
		set[in] = prompt
	}
	return map[string]map[string]any{target: set}, nil
}

// flaskTextClasses are the classes the Flask service writes "text" into,
// whether that input is a widget or was converted to a link.
var flaskTextClasses = map[string]bool{"CLIPTextEncode": true, "Text Multiline": true}

// textInputs returns the text widget(s) of a node: "text" or "prompt"
// when it holds a string (CLIPTextEncode, Text Multiline, most custom
// prompt nodes), else SDXL's pair text_g/text_l; none for other nodes.
func textInputs(n *workflow.Node) []string {
	for _, in := range []string{"text", "prompt"} {
		if _, ok := n.Inputs[in].(string); ok {
			return []string{in}
		}
	}
	if flaskTextClasses[n.ClassType] {
		return []string{"text"}
	}
	var pair []string
	for _, in := range []string{"text_g", "text_l"} {
		if _, ok := n.Inputs[in].(string); ok {
			pair = append(pair, in)
		}
	}
	return pair
}

// positivePrefix starts the description DetectParams gives the positive
// prompt it found by following a sampler's "positive" link.
const positivePrefix = "Text of the positive prompt"

// promptNode is where a bare prompt goes: the positive prompt, as
// workflow.DetectParams finds it, else (a graph without a KSampler-style
// sampler, e.g. Flux's guider) the first text node in graph order, which
// is the Flask service's only rule.
func promptNode(g workflow.Graph) (string, []string) {
	for _, p := range workflow.DetectParams(g, nil) {
		if strings.HasPrefix(p.Description, positivePrefix) {
			return p.Target.NodeID, []string{p.Target.Input}
		}
	}
	for _, id := range g.IDs() {
		if in := textInputs(g[id]); len(in) > 0 {
			return id, in
		}
	}
	return "", nil
}
