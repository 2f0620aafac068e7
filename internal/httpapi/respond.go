package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"

	"github.com/comfygate/comfygate/api"
)

// handlerFunc is the shape of every handler here: it writes a success
// itself and returns any failure, which serve turns into a response once.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// writeJSON sends v with status. An encoding failure after the header is
// out can only be logged by the caller, so it is returned.
func writeJSON(w http.ResponseWriter, status int, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, err = w.Write(append(data, '\n'))
	return err
}

// writeError answers err per the table in describe, and logs it with the
// request id: the detail stays in the log, the response says what is safe.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	rec, _ := w.(*recorder)
	if rec != nil && rec.wroteHeader {
		// A stream already started: nothing can be said in-band any more.
		s.logError(r, http.StatusOK, err)
		return
	}
	if errors.Is(err, context.Canceled) && r.Context().Err() != nil {
		// The client went away; nobody is left to answer.
		s.log.LogAttrs(r.Context(), slog.LevelDebug, "client gone", s.reqAttrs(r, slog.Any("err", err))...)
		return
	}
	pub := describe(err)
	pub.body.RequestID = requestID(r.Context())
	s.logError(r, pub.status, err)
	if pub.retryAfter > 0 {
		w.Header().Set("Retry-After", retryAfterValue(pub.retryAfter))
	}
	if werr := writeJSON(w, pub.status, api.ErrorResponse{Error: pub.body}); werr != nil {
		s.log.LogAttrs(r.Context(), slog.LevelDebug, "write error response", s.reqAttrs(r, slog.Any("err", werr))...)
	}
}

func (s *Server) logError(r *http.Request, status int, err error) {
	level := slog.LevelInfo
	if status >= 500 {
		level = slog.LevelError
	}
	s.log.LogAttrs(r.Context(), level, "request failed",
		s.reqAttrs(r, slog.Int("status", status), slog.Any("err", err))...)
}

func (s *Server) reqAttrs(r *http.Request, extra ...slog.Attr) []slog.Attr {
	return append([]slog.Attr{
		slog.String("request_id", requestID(r.Context())),
		slog.String("method", r.Method),
		slog.String("path", r.URL.Path),
	}, extra...)
}

// recorder remembers the status for metrics and whether the header went
// out, so that a late error is not written into a started body. Unwrap lets
// http.ResponseController reach Flush and deadlines of the real writer.
type recorder struct {
	http.ResponseWriter
	status      int
	wroteHeader bool
}

func (rw *recorder) WriteHeader(code int) {
	if !rw.wroteHeader && (code >= 200 || code == http.StatusSwitchingProtocols) {
		rw.status, rw.wroteHeader = code, true
	}
	rw.ResponseWriter.WriteHeader(code)
}

func (rw *recorder) Write(p []byte) (int, error) {
	if !rw.wroteHeader {
		rw.status, rw.wroteHeader = http.StatusOK, true
	}
	return rw.ResponseWriter.Write(p)
}

func (rw *recorder) Unwrap() http.ResponseWriter { return rw.ResponseWriter }
