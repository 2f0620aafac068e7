package api

// ErrorResponse is the body of every 4xx/5xx answer of the native API.
type ErrorResponse struct {
	Error ErrorBody `json:"error"`
}

// ErrorBody names what went wrong. Field points at the offending input
// ("params.steps", "prompt.3.inputs.seed", "wait", "Idempotency-Key") when
// there is one.
type ErrorBody struct {
	Code      string `json:"code" description:"Stable machine-readable code, e.g. invalid_request, not_found."`
	Message   string `json:"message" description:"Human-readable explanation, safe to show."`
	Field     string `json:"field,omitempty" description:"The offending input: a body path, query parameter or header name."`
	RequestID string `json:"request_id,omitempty" description:"Quote it when reporting a problem; the server log has the detail."`
	// NodeErrors carries ComfyUI-style validation errors by node id.
	NodeErrors map[string]any `json:"node_errors,omitempty" description:"ComfyUI-style validation errors by node id."`
}

// Error codes of ErrorBody.Code. Clients branch on these, never on Message.
const (
	CodeInvalidRequest   = "invalid_request"    // 400: a field, parameter or header is wrong
	CodeInvalidJSON      = "invalid_json"       // 400: the body is not well-formed JSON
	CodeInvalidPrompt    = "invalid_prompt"     // 400: the graph failed validation (see node_errors)
	CodeUnauthorized     = "unauthorized"       // 401: missing or unknown API key
	CodeForbidden        = "forbidden"          // 403
	CodeNotFound         = "not_found"          // 404
	CodeMethodNotAllowed = "method_not_allowed" // 405
	CodeConflict         = "conflict"           // 409 (the gateway may send a more precise code)
	CodeTooLarge         = "too_large"          // 413: body or upload over the limit
	CodeUnsupportedMedia = "unsupported_media"  // 415
	CodeUnrunnable       = "unrunnable"         // 422: no backend can run the graph
	CodeRateLimited      = "rate_limited"       // 429: slow down; see Retry-After
	CodeInternal         = "internal"           // 500
	CodeBadGateway       = "bad_gateway"        // 502: a ComfyUI server did not answer as one should
	CodeOverloaded       = "overloaded"         // 503: come back later; see Retry-After
	CodeTimeout          = "timeout"            // 504
)
