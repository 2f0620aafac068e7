package httpapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/comfygate/comfygate/api"
	"github.com/comfygate/comfygate/internal/gateway"
)

// Error is a failure this package detects itself (a bad query parameter, a
// missing key, a body over the limit). Message and Field are public; Err is
// the cause, which only reaches the log.
type Error struct {
	Status     int
	Code       string
	Field      string
	Message    string
	RetryAfter time.Duration
	Err        error
}

func (e *Error) Error() string {
	if e.Field != "" {
		return e.Field + ": " + e.Message
	}
	return e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// badRequest is the common 400: field names the input, problem says what is
// wrong with it.
func badRequest(field, format string, args ...any) *Error {
	return &Error{Status: http.StatusBadRequest, Code: api.CodeInvalidRequest,
		Field: field, Message: fmt.Sprintf(format, args...)}
}

// publicError is what a response says about an error: the one table from
// errors to status codes. Everything it returns is safe to show; an error
// it does not know becomes a bare 500.
type publicError struct {
	status     int
	body       api.ErrorBody
	retryAfter time.Duration
}

func describe(err error) publicError {
	var (
		own       *Error
		input     *gateway.InputError
		conflict  *gateway.ConflictError
		unrun     *gateway.UnrunnableError
		overload  *gateway.OverloadError
		forbidden *gateway.ForbiddenError
		upstream  *gateway.UpstreamError
		tooLarge  *http.MaxBytesError
	)
	switch {
	case errors.As(err, &own):
		return publicError{own.Status, api.ErrorBody{Code: own.Code, Field: own.Field, Message: own.Message}, own.RetryAfter}
	case errors.As(err, &tooLarge):
		return tooLargeError("body", tooLarge.Limit)
	case errors.As(err, &input):
		return describeInput(input)
	case errors.Is(err, gateway.ErrNotFound):
		return publicError{status: http.StatusNotFound, body: api.ErrorBody{Code: api.CodeNotFound, Message: err.Error()}}
	case errors.As(err, &conflict):
		return publicError{status: http.StatusConflict, body: api.ErrorBody{Code: orDefault(conflict.Code, api.CodeConflict), Message: conflict.Message}}
	case errors.As(err, &unrun):
		return publicError{status: http.StatusUnprocessableEntity, body: api.ErrorBody{Code: api.CodeUnrunnable, Message: unrun.Message}}
	case errors.As(err, &overload):
		return publicError{http.StatusServiceUnavailable, api.ErrorBody{Code: api.CodeOverloaded, Message: overload.Message}, max(overload.RetryAfter, time.Second)}
	case errors.As(err, &forbidden):
		return publicError{status: http.StatusForbidden, body: api.ErrorBody{Code: api.CodeForbidden, Message: forbidden.Message}}
	case errors.As(err, &upstream): // before the deadline: a probe's timeout is the backend's failure
		return publicError{status: http.StatusBadGateway, body: api.ErrorBody{Code: api.CodeBadGateway, Message: upstream.Message}}
	case errors.Is(err, context.DeadlineExceeded):
		return publicError{status: http.StatusGatewayTimeout, body: api.ErrorBody{Code: api.CodeTimeout, Message: "the request took too long"}}
	}
	return publicError{status: http.StatusInternalServerError, body: api.ErrorBody{Code: api.CodeInternal, Message: "internal error; the server log has the detail"}}
}

func describeInput(e *gateway.InputError) publicError {
	code := api.CodeInvalidRequest
	if len(e.NodeErrors) > 0 {
		code = api.CodeInvalidPrompt
	}
	return publicError{status: http.StatusBadRequest, body: api.ErrorBody{
		Code: code, Field: e.Field, Message: e.Error(), NodeErrors: e.NodeErrors}}
}

func tooLargeError(field string, limit int64) publicError {
	return publicError{status: http.StatusRequestEntityTooLarge, body: api.ErrorBody{
		Code: api.CodeTooLarge, Field: field,
		Message: fmt.Sprintf("%s is larger than the limit of %d bytes", field, limit)}}
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// retryAfterValue renders d as whole seconds, rounded up: Retry-After has
// no finer unit, and 0 would invite an immediate retry.
func retryAfterValue(d time.Duration) string {
	return strconv.FormatInt(int64((d+time.Second-1)/time.Second), 10)
}
