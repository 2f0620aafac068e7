package flaskapi

import (
	"fmt"
	"net/http"
)

type (
	// connection is app.py test_comfy_connection's body. ComfyURL is the
	// gateway's own /system_stats: to a Flask client, comfygate is its
	// ComfyUI now, and backend addresses stay private.
	connection struct {
		ComfyURL string        `json:"comfyui_url"`
		Error    string        `json:"error,omitempty"`
		Response *fleetSummary `json:"response,omitempty"`
		Status   string        `json:"status"`
	}
	fleetSummary struct {
		Backends []backendSummary `json:"backends"`
		Healthy  int              `json:"healthy"`
	}
	backendSummary struct {
		ID    string `json:"id"`
		State string `json:"state"`
	}
	workflowList struct {
		Workflows []string `json:"workflows"`
	}
)

// testComfy is GET /api/test_comfy: success when the gateway can run work
// (its store answers and a backend is healthy), else 500 with the reason,
// as the Flask service answers when ComfyUI does not.
func (h *Handler) testComfy(w http.ResponseWriter, r *http.Request, _ string) error {
	c := connection{ComfyURL: h.baseURL(r) + "/system_stats"}
	if err := h.svc.Ready(r.Context()); err != nil {
		c.Status, c.Error = "error", fmt.Sprintf("comfygate is not ready: %v", err)
		return writeJSON(w, http.StatusInternalServerError, c)
	}
	backends, err := h.svc.Backends(r.Context())
	if err != nil {
		return fmt.Errorf("list backends: %w", err)
	}
	sum := &fleetSummary{Backends: make([]backendSummary, 0, len(backends))}
	for _, b := range backends {
		sum.Backends = append(sum.Backends, backendSummary{ID: b.ID, State: b.State})
		if b.State == "healthy" {
			sum.Healthy++
		}
	}
	c.Status, c.Response = "success", sum
	return writeJSON(w, http.StatusOK, c)
}

// listWorkflows is GET /api/workflows (app.py list_workflows): the names
// of the stored workflows, which the Flask service took from its
// workflows/ directory; here those the caller sees (its own and the
// shared ones).
func (h *Handler) listWorkflows(w http.ResponseWriter, r *http.Request, owner string) error {
	list, err := h.svc.ListWorkflows(r.Context(), owner)
	if err != nil {
		return fmt.Errorf("list workflows: %w", err)
	}
	out := workflowList{Workflows: make([]string, 0, len(list))}
	for _, wf := range list {
		out.Workflows = append(out.Workflows, wf.Name)
	}
	return writeJSON(w, http.StatusOK, out)
}
