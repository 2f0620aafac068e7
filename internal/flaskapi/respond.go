package flaskapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/comfygate/comfygate/internal/gateway"
)

// handlerFunc is every route's shape: it writes its success itself and
// returns a failure, which adapt answers once, as {"error": "..."}.
type handlerFunc func(w http.ResponseWriter, r *http.Request, owner string) error

// Error is a failure this package detects itself; Message is public.
type Error struct {
	Status  int
	Message string
}

func (e *Error) Error() string { return e.Message }

func errorf(status int, format string, args ...any) *Error {
	return &Error{Status: status, Message: fmt.Sprintf(format, args...)}
}

// errorBody is the Flask service's error shape. NodeErrors is ComfyUI's
// validation detail, present when a graph failed validation.
type errorBody struct {
	Error      string         `json:"error"`
	NodeErrors map[string]any `json:"node_errors,omitempty"`
}

// adapt authenticates, bounds the body, runs h and answers its error or
// panic. It is the one place errors become responses.
func (h *Handler) adapt(fn handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer h.recoverPanic(w, r)
		r.Body = http.MaxBytesReader(w, r.Body, h.cfg.MaxBodyBytes)
		owner := ""
		if h.cfg.Owner != nil {
			var err error
			if owner, err = h.cfg.Owner(r); err != nil {
				w.Header().Set("WWW-Authenticate", `Bearer realm="comfygate"`)
				h.writeError(w, r, &Error{Status: http.StatusUnauthorized, Message: err.Error()})
				return
			}
		}
		release, err := h.cfg.InFlight.Body(r, owner, h.cfg.MaxBodyBytes)
		if err != nil {
			h.writeError(w, r, err)
			return
		}
		defer release()
		if err := fn(w, r, owner); err != nil {
			h.writeError(w, r, err)
		}
	})
}

func (h *Handler) recoverPanic(w http.ResponseWriter, r *http.Request) {
	v := recover()
	if v == nil {
		return
	}
	if v == http.ErrAbortHandler {
		panic(v)
	}
	h.log.LogAttrs(r.Context(), slog.LevelError, "panic serving flask route",
		slog.String("path", r.URL.Path), slog.Any("panic", v), slog.String("stack", string(debug.Stack())))
	h.writeError(w, r, fmt.Errorf("panic: %v", v))
}

// writeError answers err per describe; the detail of a 5xx goes to the log.
func (h *Handler) writeError(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, context.Canceled) && r.Context().Err() != nil {
		return // the client went away
	}
	status, body, retry := describe(err)
	if status >= 500 {
		h.log.LogAttrs(r.Context(), slog.LevelError, "flask route failed",
			slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.Int("status", status), slog.Any("err", err))
	}
	if retry > 0 {
		w.Header().Set("Retry-After", strconv.FormatInt(int64((retry+time.Second-1)/time.Second), 10))
	}
	_ = writeJSON(w, status, body)
}

// describe maps errors to a status and a public body: the same table as
// the REST API's, in the Flask service's words.
func describe(err error) (int, errorBody, time.Duration) {
	var (
		own       *Error
		tooLarge  *http.MaxBytesError
		input     *gateway.InputError
		conflict  *gateway.ConflictError
		unrun     *gateway.UnrunnableError
		overload  *gateway.OverloadError
		forbidden *gateway.ForbiddenError
	)
	switch {
	case errors.As(err, &own):
		return own.Status, errorBody{Error: own.Message}, 0
	case errors.As(err, &tooLarge):
		return http.StatusRequestEntityTooLarge, errorBody{Error: fmt.Sprintf("request body is larger than the limit of %d bytes", tooLarge.Limit)}, 0
	case errors.As(err, &input):
		return http.StatusBadRequest, errorBody{Error: input.Error(), NodeErrors: input.NodeErrors}, 0
	case errors.Is(err, gateway.ErrNotFound):
		return http.StatusNotFound, errorBody{Error: err.Error()}, 0
	case errors.As(err, &conflict):
		return http.StatusConflict, errorBody{Error: conflict.Message}, 0
	case errors.As(err, &unrun):
		return http.StatusUnprocessableEntity, errorBody{Error: unrun.Message}, 0
	case errors.As(err, &overload):
		return http.StatusServiceUnavailable, errorBody{Error: overload.Message}, max(overload.RetryAfter, time.Second)
	case errors.As(err, &forbidden):
		return http.StatusForbidden, errorBody{Error: forbidden.Message}, 0
	case errors.Is(err, context.DeadlineExceeded):
		return http.StatusGatewayTimeout, errorBody{Error: "the request took too long"}, 0
	}
	return http.StatusInternalServerError, errorBody{Error: "internal error; the server log has the detail"}, 0
}

// writeJSON sends v as Flask's jsonify does: compact, one line, with
// < > & left as they are (nosniff keeps browsers from reading it as HTML).
func writeJSON(w http.ResponseWriter, status int, v any) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, err := w.Write(buf.Bytes())
	return err
}

// unmatched answers what no route under the prefix matched: 405 with Allow
// when the path exists under another method, else 404.
func (h *Handler) unmatched(w http.ResponseWriter, r *http.Request, _ string) error {
	var allow []string
	for _, m := range []string{http.MethodGet, http.MethodHead, http.MethodPost} {
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pattern := h.mux.Handler(probe); pattern != "" && pattern != Prefix+"/" {
			allow = append(allow, m)
		}
	}
	if len(allow) > 0 {
		w.Header().Set("Allow", strings.Join(allow, ", "))
		return errorf(http.StatusMethodNotAllowed, "The method %s is not allowed for the requested URL.", r.Method)
	}
	return errorf(http.StatusNotFound, "The requested URL %s was not found on the server.", r.URL.Path)
}

// baseURL is where image urls start: the configured external URL, or the
// scheme and host this request came to.
func (h *Handler) baseURL(r *http.Request) string {
	if h.cfg.BaseURL != "" {
		return h.cfg.BaseURL
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}
