package httpapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strings"

	"github.com/swaggest/jsonschema-go"
	"github.com/swaggest/openapi-go"
	"github.com/swaggest/openapi-go/openapi31"

	"github.com/comfygate/comfygate/api"
)

// We generate the document with swaggest/openapi-go: it reflects our own
// api types into OpenAPI 3.1 and leaves the handlers plain, so the
// error-returning handlers and the one error table stay as they are (a
// framework such as huma would own decoding and error bodies instead).

const apiDescription = `comfygate turns stored ComfyUI workflows into a documented job API
that runs on one ComfyUI or a fleet of them.

Every error is JSON: {"error": {"code", "message", "field", "request_id"}}.
When API keys are configured, every /v1 route needs Authorization: Bearer <key>
(or X-API-Key); each key sees only its own jobs, files, events and workflows
(besides the shared workflows), and only admin keys may change the fleet (the
POST and DELETE routes of /v1/backends) and the shared workflows.

The same listener serves ComfyUI's own API (tag ComfyUI-compatible: POST /prompt,
/ws, /history, /view, ..., each also under /api) and the routes of the Flask
"ComfyUI API Service" (tag Flask-compatible); their answers follow those servers,
not the error format above. Each shared workflow has its own operation,
POST /v1/workflows/<name>/jobs, with its parameters in the body's schema.`

// buildSpec reflects the operation table into the static part of the
// document; stored workflows are added per request (see openAPIDoc).
func buildSpec(version string) (*openapi31.Spec, error) {
	r := openapi31.NewReflector()
	r.Spec.Info.WithTitle("comfygate").WithVersion(version).WithDescription(apiDescription)
	r.Spec.SetHTTPBearerTokenSecurity("bearer", "API key", "Authorization: Bearer <key>")
	r.Spec.SetAPIKeySecurity("apiKey", "X-API-Key", openapi.InHeader, "The API key in X-API-Key.")
	// Components are named after the api types, without the package prefix.
	js := r.JSONSchemaReflector()
	// json.Number keeps numbers exact in Go; on the wire it is a number (of
	// any size: no "double" format, a seed is a 64-bit integer).
	js.DefaultOptions = append(js.DefaultOptions, jsonschema.InterceptSchema(func(p jsonschema.InterceptSchemaParams) (bool, error) {
		if p.Value.IsValid() && p.Value.Type() == reflect.TypeFor[json.Number]() {
			p.Schema.WithType(jsonschema.Number.Type())
			return true, nil
		}
		return false, nil
	}))
	js.DefaultOptions = append(js.DefaultOptions, jsonschema.InterceptDefName(func(_ reflect.Type, name string) string {
		return strings.Replace(strings.TrimPrefix(name, "Api"), "Httpapi", "", 1)
	}))
	for _, op := range operations() {
		if err := addOperation(r, op); err != nil {
			return nil, fmt.Errorf("%s %s: %w", op.method, op.path, err)
		}
	}
	if err := addWebhooks(r); err != nil {
		return nil, err
	}
	return r.Spec, nil
}

// webhookDescription documents what a webhook receiver gets.
const webhookDescription = `POSTed to the job's webhook URL, signed as Standard Webhooks (standardwebhooks.com),
so any of its libraries (or Svix's) verifies it: webhook-id (msg_…, the same on every retry and on
redelivery: use it to drop duplicates), webhook-timestamp (Unix seconds of this attempt) and
webhook-signature ("v1,<base64 HMAC-SHA256 of id.timestamp.body>" per secret, space-separated
during a rotation). Answer 2xx to acknowledge; 410 Gone stops the deliveries of this message;
anything else, or no answer within the timeout, is retried with exponential backoff and jitter
(from --webhook-retry-base, for --webhook-retry-for, 24h by default). A job's messages arrive
in order (job.started before job.succeeded). job.progress is sent at most once a second per job,
best effort: never retried, not in the delivery log, possibly after the job's end.`

// addWebhooks describes the webhook messages (OpenAPI 3.1 webhooks).
func addWebhooks(r *openapi31.Reflector) error {
	for _, t := range []string{api.WebhookSucceeded, api.WebhookFailed, api.WebhookCancelled, api.WebhookStarted, api.WebhookProgress} {
		oc, err := r.NewOperationContext(http.MethodPost, t)
		if err != nil {
			return err
		}
		oc.SetID(strings.ReplaceAll(t, ".", "_"))
		oc.SetSummary("Webhook message " + t)
		oc.SetDescription(webhookDescription)
		oc.SetTags("webhooks")
		oc.AddReqStructure(new(api.WebhookMessage))
		oc.AddRespStructure(nil, openapi.WithHTTPStatus(http.StatusNoContent),
			func(cu *openapi.ContentUnit) { cu.Description = "Any 2xx acknowledges the message." })
		oc.AddRespStructure(nil, openapi.WithHTTPStatus(http.StatusGone),
			func(cu *openapi.ContentUnit) { cu.Description = "Stop sending this message." })
		if err := r.AddWebhook(oc); err != nil {
			return fmt.Errorf("webhook %s: %w", t, err)
		}
	}
	return nil
}

func addOperation(r *openapi31.Reflector, op operation) error {
	oc, err := r.NewOperationContext(op.method, op.path)
	if err != nil {
		return err
	}
	oc.SetID(op.id)
	oc.SetSummary(op.summary)
	oc.SetDescription(op.description)
	oc.SetTags(op.tag)
	if !op.open {
		oc.AddSecurity("bearer")
		oc.AddSecurity("apiKey")
	}
	if op.params != nil {
		oc.AddReqStructure(op.params)
	}
	if op.body != nil {
		oc.AddReqStructure(op.body)
	}
	for _, ct := range op.bodyTypes {
		oc.AddReqStructure(nil, openapi.WithContentType(ct), func(cu *openapi.ContentUnit) { cu.Format = "binary" })
	}
	for _, resp := range op.responses {
		oc.AddRespStructure(resp.body, responseOptions(resp)...)
	}
	for _, status := range op.errors {
		oc.AddRespStructure(new(api.ErrorResponse), openapi.WithHTTPStatus(status),
			func(cu *openapi.ContentUnit) { cu.Description = errorDescription(status) })
	}
	return r.AddOperation(oc)
}

func responseOptions(resp docResponse) []openapi.ContentOption {
	opts := []openapi.ContentOption{openapi.WithHTTPStatus(resp.status)}
	if resp.contentType != "" {
		opts = append(opts, openapi.WithContentType(resp.contentType))
	}
	if resp.body == nil && resp.contentType == "application/octet-stream" {
		opts = append(opts, func(cu *openapi.ContentUnit) { cu.Format = "binary" })
	}
	desc := resp.description
	if desc == "" {
		desc = http.StatusText(resp.status)
	}
	return append(opts, func(cu *openapi.ContentUnit) { cu.Description = desc })
}

func errorDescription(status int) string {
	switch status {
	case 400:
		return "Invalid request: error.field names the input, error.message the problem."
	case 401:
		return "Missing or unknown API key."
	case 403:
		return "The API key may not do this (fleet changes, shared workflows and /metrics need an admin key)."
	case 409:
		return "Conflicts with stored state (an Idempotency-Key reused with another body, a shared workflow's name)."
	case 413:
		return "Body or file over the size limit (the message names it)."
	case 422:
		return "No backend of the fleet can run this graph."
	case 429:
		return "Too many requests for this key; see Retry-After."
	case 502:
		return "The ComfyUI server did not answer as one should; the message says why."
	case 503:
		return "Overloaded; see Retry-After."
	}
	return http.StatusText(status)
}
