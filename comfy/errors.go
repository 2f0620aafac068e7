package comfy

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors callers branch on with errors.Is.
var (
	// ErrNotFound: the server answered with nothing for the requested id or
	// class ({} from /object_info/{class} or /history/{id}, 404 from /view or
	// /api/jobs/{id}).
	ErrNotFound = errors.New("not found")
	// ErrNotSupported: the server does not have the route (404 on /api/jobs of
	// servers older than the jobs API).
	ErrNotSupported = errors.New("not supported by this server")
	// ErrTooLarge: a response body exceeded the client's size limit.
	ErrTooLarge = errors.New("response body too large")
)

// HTTPError is a non-2xx answer that is not a structured POST /prompt error:
// ComfyUI's plain-text 500 ("500 Internal Server Error\n\nServer got itself in
// trouble"), empty 400/403/404 bodies, 405, 413, and so on.
type HTTPError struct {
	Method string
	Path   string
	Status int
	// Body is the start of the response body (bounded), as text.
	Body string
}

func (e *HTTPError) Error() string {
	body := strings.TrimSpace(e.Body)
	if len(body) > 200 {
		body = body[:200] + "..."
	}
	if body == "" {
		return fmt.Sprintf("%s %s: status %d", e.Method, e.Path, e.Status)
	}
	return fmt.Sprintf("%s %s: status %d: %q", e.Method, e.Path, e.Status, body)
}

// Is makes a 404 match ErrNotFound.
func (e *HTTPError) Is(target error) bool {
	return target == ErrNotFound && e.Status == 404
}

// PromptError is a rejected POST /prompt (usually 400): nothing was queued.
type PromptError struct {
	Status     int
	Info       ErrorInfo
	NodeErrors map[string]NodeError
}

func (e *PromptError) Error() string {
	msg := fmt.Sprintf("prompt rejected (status %d)", e.Status)
	for _, part := range []string{e.Info.Type, e.Info.Message} {
		if part != "" {
			msg += ": " + part
		}
	}
	if n := len(e.NodeErrors); n > 0 {
		msg += fmt.Sprintf(" (%d node(s) with errors)", n)
	}
	return msg
}

// Body returns the error in its wire form, for a gateway passing it on.
func (e *PromptError) Body() PromptErrorBody {
	return PromptErrorBody{Error: e.Info, NodeErrors: e.NodeErrors}
}
