package comfy

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// PromptRequest is the body of POST /prompt. Prompt is the API-format graph kept
// as raw JSON so that numbers such as 64-bit seeds survive untouched.
type PromptRequest struct {
	Prompt   json.RawMessage `json:"prompt"`
	ClientID string          `json:"client_id,omitempty"`
	// PromptID is optional; ComfyUI 0.3.64 accepts any string, later versions
	// require a canonical lowercase UUID.
	PromptID string `json:"prompt_id,omitempty"`
	// Number is an explicit priority (lower runs first). ComfyUI echoes it back
	// as a float and does not advance its counter.
	Number json.Number `json:"number,omitempty"`
	// Front queues the prompt ahead of normally queued ones (ignored by the
	// server when Number is set).
	Front     bool            `json:"front,omitempty"`
	ExtraData json.RawMessage `json:"extra_data,omitempty"`
	// PartialExecutionTargets limits execution to these output nodes. nil omits
	// the field; an empty non-nil slice is sent as [] (ComfyUI then answers
	// prompt_no_outputs).
	PartialExecutionTargets []string `json:"partial_execution_targets,omitzero"`
}

// PromptResponse is the 200 body of POST /prompt.
type PromptResponse struct {
	PromptID string      `json:"prompt_id"`
	Number   json.Number `json:"number"`
	// NodeErrors is non-empty when the prompt was queued with only some of its
	// outputs: the failing outputs were dropped.
	NodeErrors map[string]NodeError `json:"node_errors"`
}

// PartiallyValid reports whether ComfyUI queued the prompt but dropped some
// outputs that failed validation.
func (r PromptResponse) PartiallyValid() bool { return len(r.NodeErrors) > 0 }

// MarshalJSON writes node_errors as {} rather than null when empty, as ComfyUI does.
func (r PromptResponse) MarshalJSON() ([]byte, error) {
	type plain PromptResponse
	p := plain(r)
	p.NodeErrors = orEmptyMap(p.NodeErrors)
	if p.Number == "" {
		p.Number = "0"
	}
	return json.Marshal(p)
}

// ErrorInfo is ComfyUI's error object, used for the top-level POST /prompt error
// and for each per-node validation error.
type ErrorInfo struct {
	Type    string `json:"type"`
	Message string `json:"message"`
	Details string `json:"details"`
	// ExtraInfo numbers decode as json.Number so large values stay exact.
	ExtraInfo map[string]any `json:"extra_info"`
}

// Error makes ErrorInfo usable as a plain error value.
func (e ErrorInfo) Error() string {
	if e.Details != "" {
		return e.Message + ": " + e.Details
	}
	if e.Message != "" {
		return e.Message
	}
	return e.Type
}

// UnmarshalJSON decodes numbers in extra_info as json.Number.
func (e *ErrorInfo) UnmarshalJSON(data []byte) error {
	type plain ErrorInfo
	var p plain
	if err := decodeUseNumber(data, &p); err != nil {
		return err
	}
	*e = ErrorInfo(p)
	return nil
}

// MarshalJSON writes extra_info as {} rather than null when empty.
func (e ErrorInfo) MarshalJSON() ([]byte, error) {
	type plain ErrorInfo
	p := plain(e)
	p.ExtraInfo = orEmptyMap(p.ExtraInfo)
	return json.Marshal(p)
}

// NodeError lists the validation errors of one node. The map key holding it is
// the node that has the problem, often upstream of the outputs it broke.
type NodeError struct {
	Errors           []ErrorInfo `json:"errors"`
	DependentOutputs []string    `json:"dependent_outputs"`
	ClassType        string      `json:"class_type"`
}

// MarshalJSON writes empty lists as [] rather than null.
func (n NodeError) MarshalJSON() ([]byte, error) {
	type plain NodeError
	p := plain(n)
	p.Errors = orEmptySlice(p.Errors)
	p.DependentOutputs = orEmptySlice(p.DependentOutputs)
	return json.Marshal(p)
}

// PromptErrorBody is the 400 body of POST /prompt.
type PromptErrorBody struct {
	Error      ErrorInfo            `json:"error"`
	NodeErrors map[string]NodeError `json:"node_errors"`
}

// UnmarshalJSON also accepts "error" given as a bare string, as some forks and
// proxies send it; the string becomes Error.Message.
func (b *PromptErrorBody) UnmarshalJSON(data []byte) error {
	var raw struct {
		Error      json.RawMessage      `json:"error"`
		NodeErrors map[string]NodeError `json:"node_errors"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return err
	}
	b.NodeErrors = raw.NodeErrors
	b.Error = ErrorInfo{}
	switch t := bytes.TrimSpace(raw.Error); {
	case len(t) == 0 || string(t) == "null":
	case t[0] == '"':
		if err := json.Unmarshal(t, &b.Error.Message); err != nil {
			return fmt.Errorf("field error: %w", err)
		}
	default:
		if err := json.Unmarshal(t, &b.Error); err != nil {
			return fmt.Errorf("field error: %w", err)
		}
	}
	return nil
}

// MarshalJSON writes node_errors as {} rather than null when empty.
func (b PromptErrorBody) MarshalJSON() ([]byte, error) {
	type plain PromptErrorBody
	p := plain(b)
	p.NodeErrors = orEmptyMap(p.NodeErrors)
	return json.Marshal(p)
}

// PromptInfo is the body of GET /prompt, and the "status" part of the status
// WebSocket message.
type PromptInfo struct {
	ExecInfo ExecInfo `json:"exec_info"`
}

// ExecInfo carries the queue counter (pending + running).
type ExecInfo struct {
	QueueRemaining int `json:"queue_remaining"`
}
