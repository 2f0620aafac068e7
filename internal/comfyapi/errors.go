package comfyapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/comfygate/comfygate/comfy"
	"github.com/comfygate/comfygate/comfy/comfyjson"
	"github.com/comfygate/comfygate/internal/artifact"
	"github.com/comfygate/comfygate/internal/comfywire"
	"github.com/comfygate/comfygate/internal/gateway"
	"github.com/comfygate/comfygate/internal/inflight"
	"github.com/comfygate/comfygate/workflow"
)

// Routes write their answers themselves and return their failures; respond
// writes every failure, once, in the shape ComfyUI (aiohttp) gives it. The
// error types below name those shapes.

// errPython is an exception a ComfyUI handler does not catch (a TypeError
// on an odd body, a malformed value): aiohttp's plain-text 500, which
// clients expect to the letter.
var errPython = errors.New("unhandled exception in the handler")

// errRouteNotFound is aiohttp's plain-text 404 for a path no route knows.
var errRouteNotFound = errors.New("no such route")

// errNoBackend: no backend is healthy to answer for the fleet (503 and
// Retry-After: comfygate's own answer; one ComfyUI is never without
// itself).
var errNoBackend = errors.New("no healthy backend")

// errBodyTooLarge marks a body over MaxUploadBytes: aiohttp's 413.
var errBodyTooLarge = comfywire.ErrBodyTooLarge

// jsonTooLarge is a JSON body beyond the decoder's bounds (its values,
// nesting or strings), on a route other than /prompt: a 413 that says
// which.
type jsonTooLarge struct{ err *comfyjson.LimitError }

func (e *jsonTooLarge) Error() string { return e.err.Error() }

// bodyTooLarge is a JSON body over MaxPromptBytes: aiohttp's 413, naming
// that limit.
type bodyTooLarge struct{ limit int64 }

func (e *bodyTooLarge) Error() string { return fmt.Sprintf("request body over %d bytes", e.limit) }
func (e *bodyTooLarge) Unwrap() error { return errBodyTooLarge }

// badGateway is a proxied request the backend did not answer.
type badGateway struct{ err error }

func (e *badGateway) Error() string { return "proxied request failed: " + e.err.Error() }
func (e *badGateway) Unwrap() error { return e.err }

// statusOnly is an answer with an empty body, web.Response(status=...):
// ComfyUI's 400s, 403s and 404s of the file routes and the socket.
type statusOnly int

func (s statusOnly) Error() string { return http.StatusText(int(s)) }

// jobsError is the /api/jobs routes' {"error": "..."} (with extra members
// such as invalid_ids).
type jobsError struct {
	status int
	body   map[string]any
}

func (e *jobsError) Error() string { return fmt.Sprint(e.body["error"]) }

func jobsErrorf(status int, format string, args ...any) *jobsError {
	return &jobsError{status: status, body: map[string]any{"error": fmt.Sprintf(format, args...)}}
}

// invalidPrompt is a POST /prompt 400 for problems ComfyUI has no error
// type of its own for (limits, a fleet that cannot run the graph), in its
// {"error": ..., "node_errors": ...} shape.
func invalidPrompt(msg, details string) *comfy.PromptError {
	return &comfy.PromptError{Status: http.StatusBadRequest, Info: comfy.ErrorInfo{Type: "invalid_prompt", Message: msg,
		Details: details, ExtraInfo: map[string]any{}}, NodeErrors: map[string]comfy.NodeError{}}
}

// failure is comfygate itself failing (its store): a 503 that names what
// failed, so the client may retry, unlike after ComfyUI's 500. The cause
// goes to the log only.
type failure struct {
	what string
	err  error
}

func (e *failure) Error() string { return e.what + ": " + e.err.Error() }
func (e *failure) Unwrap() error { return e.err }

func failed(what string, err error) error { return &failure{what: what, err: err} }

// unauthorized is a request without a valid key.
type unauthorized struct{ err error }

func (e *unauthorized) Error() string { return e.err.Error() }

// respond is the one table from errors to answers.
func (h *Handler) respond(w http.ResponseWriter, r *http.Request, err error) {
	var (
		status     statusOnly
		prompt     *comfy.PromptError
		jobs       *jobsError
		fail       *failure
		unauth     *unauthorized
		upstream   *badGateway
		limit      *workflow.LimitError
		malformed  *workflow.MalformedError
		input      *gateway.InputError
		unrun      *gateway.UnrunnableError
		overload   *gateway.OverloadError
		forbidden  *gateway.ForbiddenError
		tooLarge   *http.MaxBytesError
		image      *imageTooLarge
		bigBody    *bodyTooLarge
		bigJSON    *jsonTooLarge
		manyIDs    *tooManyIDs
		clientGone = r.Context().Err() != nil
	)
	switch {
	case errors.Is(err, context.Canceled) && clientGone:
		// The client went away: nobody reads an answer.
	case errors.As(err, &status):
		comfywire.WriteEmpty(w, int(status))
	case errors.As(err, &prompt):
		writeJSON(w, prompt.Status, prompt.Body())
	case errors.Is(err, errPython), errors.As(err, &malformed), errors.Is(err, comfyjson.ErrInvalidUTF8):
		comfywire.InternalError(w) // a client's odd body: nothing to log
	case errors.As(err, &limit):
		writeJSON(w, http.StatusBadRequest, invalidPrompt("Prompt too large", limit.Error()).Body())
	case errors.As(err, &input):
		writeJSON(w, http.StatusBadRequest, inputRefusal(input).Body())
	case errors.As(err, &unrun):
		writeJSON(w, http.StatusBadRequest, invalidPrompt("Cannot execute because no backend can run this prompt", unrun.Message).Body())
	case errors.As(err, &jobs):
		writeJSON(w, jobs.status, jobs.body)
	case errors.As(err, &manyIDs):
		comfywire.WriteText(w, http.StatusBadRequest, "400: Bad Request: "+manyIDs.Error())
	case errors.As(err, &bigJSON):
		comfywire.WriteText(w, http.StatusRequestEntityTooLarge, "413: Request Entity Too Large: "+bigJSON.Error())
	case errors.As(err, &bigBody):
		comfywire.WriteBodyTooLarge(w, r, bigBody.limit)
	case errors.Is(err, errBodyTooLarge), errors.As(err, &tooLarge), errors.Is(err, artifact.ErrTooLarge), errors.Is(err, inflight.ErrTooLarge):
		comfywire.WriteBodyTooLarge(w, r, h.cfg.MaxUploadBytes)
	case errors.As(err, &image):
		comfywire.WriteText(w, http.StatusUnprocessableEntity, "422: Unprocessable Entity: "+image.Error())
	case errors.As(err, &overload):
		unavailableText(w, retryAfter(overload.RetryAfter), "the queue is full")
	case errors.Is(err, errNoBackend):
		unavailableText(w, "5", "no healthy backend")
	case errors.As(err, &fail):
		h.log.Error("comfyapi: "+fail.what, "path", r.URL.Path, "err", fail.err)
		unavailableText(w, "1", fail.what+" failed")
	case errors.As(err, &unauth):
		w.Header().Set("WWW-Authenticate", `Bearer realm="comfygate"`)
		comfywire.WriteText(w, http.StatusUnauthorized, "401: Unauthorized: "+unauth.err.Error())
	case errors.As(err, &forbidden):
		comfywire.WriteText(w, http.StatusForbidden, "403: Forbidden: "+forbidden.Message)
	case errors.Is(err, errRouteNotFound):
		comfywire.NotFound(w)
	case errors.As(err, &upstream):
		h.log.Warn("comfyapi: proxied request failed", "path", r.URL.Path, "err", upstream.err)
		comfywire.WriteText(w, http.StatusBadGateway, "502: Bad Gateway")
	default:
		h.log.Error("comfyapi: request failed", "path", r.URL.Path, "err", err)
		comfywire.InternalError(w)
	}
}

// inputRefusal is a submission the use cases refused: a file input that is
// not the caller's or leaves the input directory, a graph that failed
// their validation, a prompt_id used too often.
func inputRefusal(e *gateway.InputError) *comfy.PromptError {
	pe := invalidPrompt("Invalid prompt", e.Error())
	for id, ne := range e.NodeErrors {
		if n, ok := ne.(comfy.NodeError); ok {
			pe.NodeErrors[id] = n
		}
	}
	return pe
}

// nodeRefusal gives a refusal of one node's input (a file that is not the
// caller's, a name that leaves the input directory) the node error
// ComfyUI's validation would have given, so that clients show it on the
// node; other errors pass unchanged.
func nodeRefusal(err error, g workflow.Graph) error {
	var ie *gateway.InputError
	if !errors.As(err, &ie) || len(ie.NodeErrors) > 0 {
		return err
	}
	id, input, ok := promptInput(ie.Field)
	if !ok || g[id] == nil {
		return err
	}
	pe := inputRefusal(ie)
	pe.NodeErrors[id] = comfy.NodeError{
		Errors: []comfy.ErrorInfo{{Type: "custom_validation_failed", Message: "Custom validation failed for node",
			Details: input + " - " + ie.Problem, ExtraInfo: map[string]any{"input_name": input}}},
		ClassType: g[id].ClassType,
	}
	return pe
}

// promptInput splits a field "prompt.<node>.inputs.<input>".
func promptInput(field string) (id, input string, ok bool) {
	rest, ok := strings.CutPrefix(field, "prompt.")
	if !ok {
		return "", "", false
	}
	id, input, ok = strings.Cut(rest, ".inputs.")
	return id, input, ok && id != "" && input != ""
}

// unavailableText is comfygate's 503: plain text in aiohttp's style.
func unavailableText(w http.ResponseWriter, retry, why string) {
	w.Header().Set("Retry-After", retry)
	comfywire.WriteText(w, http.StatusServiceUnavailable, "503: Service Unavailable: "+why)
}

// retryAfter renders d as whole seconds, rounded up and at least 1.
func retryAfter(d time.Duration) string {
	return strconv.FormatInt(max(int64((d+time.Second-1)/time.Second), 1), 10)
}
