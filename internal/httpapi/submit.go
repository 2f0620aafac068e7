package httpapi

import (
	"bytes"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/comfygate/comfygate/api"
)

// decodeSubmit is the decoder of the untrusted POST /v1/jobs body. It
// checks the shape of the request; what the workflow and parameters mean is
// the gateway's to check.
func decodeSubmit(data []byte) (api.SubmitJobRequest, error) {
	var req api.SubmitJobRequest
	if err := decodeStrict(data, &req); err != nil {
		return req, err
	}
	if bytes.Equal(bytes.TrimSpace(req.Prompt), []byte("null")) {
		req.Prompt = nil
	}
	return req, validateSubmit(req)
}

// runWorkflow is POST /v1/workflows/{name}/jobs: POST /v1/jobs for the
// workflow the path names, whose per-workflow operations in /openapi.json
// carry each workflow's parameter schema.
func (s *Server) runWorkflow(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("name")
	if err := checkName("name", name); err != nil {
		return err
	}
	return s.submitWith(w, r, func(data []byte) (api.SubmitJobRequest, error) {
		var run api.RunWorkflowRequest
		if len(bytes.TrimSpace(data)) > 0 {
			if err := decodeStrict(data, &run); err != nil {
				return api.SubmitJobRequest{}, err
			}
		}
		req := run.Submission(name)
		return req, validateSubmit(req)
	})
}

func validateSubmit(req api.SubmitJobRequest) error {
	switch {
	case req.Workflow == "" && len(req.Prompt) == 0:
		return badRequest("workflow", "one of workflow (a stored workflow's name) or prompt (an API-format graph) is required")
	case req.Workflow != "" && len(req.Prompt) > 0:
		return badRequest("prompt", "give either workflow or prompt, not both")
	case req.Workflow != "":
		if err := checkName("workflow", req.Workflow); err != nil {
			return err
		}
	case bytes.TrimSpace(req.Prompt)[0] != '{':
		return badRequest("prompt", "must be a JSON object (an API-format graph)")
	}
	if req.Version != "" && req.Workflow == "" {
		return badRequest("version", "pins a stored workflow's version; it needs workflow")
	}
	if len(req.Version) > maxVersionLen {
		return badRequest("version", "must be at most %d characters", maxVersionLen)
	}
	if req.Priority < api.MinPriority || req.Priority > api.MaxPriority {
		return badRequest("priority", "must be from %d to %d, got %d", api.MinPriority, api.MaxPriority, req.Priority)
	}
	if err := checkWebhook(req.Webhook); err != nil {
		return err
	}
	if err := checkOutputs(req.Outputs); err != nil {
		return err
	}
	return checkOverrides(req.Overrides)
}

func checkWebhook(w *api.WebhookSpec) error {
	if w == nil {
		return nil
	}
	hook := w.URL
	if len(hook) > maxWebhookLen {
		return badRequest("webhook", "must be at most %d characters", maxWebhookLen)
	}
	u, err := url.Parse(hook)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return badRequest("webhook", "must be an absolute http or https URL")
	}
	seen := map[string]bool{}
	for _, e := range w.Events {
		switch {
		case !slices.Contains(webhookTypes, e):
			return badRequest("webhook.events", "unknown type %q; want some of %s", e, strings.Join(webhookTypes, ", "))
		case seen[e]:
			return badRequest("webhook.events", "%q is listed twice", e)
		}
		seen[e] = true
	}
	return nil
}

var webhookTypes = []string{api.WebhookSucceeded, api.WebhookFailed, api.WebhookCancelled, api.WebhookStarted, api.WebhookProgress}

func checkOutputs(o *api.OutputOptions) error {
	if o == nil {
		return nil
	}
	switch o.Format {
	case "", "png", "jpeg", "webp":
	default:
		return badRequest("outputs.format", "must be png, jpeg or webp, got %q", o.Format)
	}
	switch {
	case o.Quality < 0 || o.Quality > 100:
		return badRequest("outputs.quality", "must be from 1 to 100, got %d", o.Quality)
	case o.Quality != 0 && o.Format != "jpeg":
		return badRequest("outputs.quality", "applies to format jpeg only (png and webp are stored lossless)")
	}
	return nil
}

func checkOverrides(overrides map[string]api.NodeOverride) error {
	for id, o := range overrides {
		if id == "" || len(id) > maxIDLen {
			return badRequest("overrides", "node ids must be 1 to %d characters", maxIDLen)
		}
		if o.Inputs == nil {
			return badRequest("overrides."+id+".inputs", "is required: {\"inputs\": {...}}")
		}
	}
	return nil
}
