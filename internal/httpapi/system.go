package httpapi

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/comfygate/comfygate/api"
)

func (s *Server) backends(w http.ResponseWriter, r *http.Request) error {
	bs, err := s.svc.Backends(r.Context())
	if err != nil {
		return err
	}
	if bs == nil {
		bs = []api.Backend{}
	}
	return writeJSON(w, http.StatusOK, api.BackendList{Backends: bs})
}

// healthz says the process serves HTTP; nothing else, so that a slow store
// never gets a live process restarted.
func (s *Server) healthz(w http.ResponseWriter, _ *http.Request) error {
	return writeText(w, http.StatusOK, "ok\n")
}

// readyz says whether to send traffic here: the store and the artifact
// storage answer and a backend is healthy. The reason is for operators;
// the service keeps it short.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) error {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.svc.Ready(ctx); err != nil {
		s.log.LogAttrs(r.Context(), slog.LevelInfo, "not ready", s.reqAttrs(r, slog.Any("err", err))...)
		return writeText(w, http.StatusServiceUnavailable, "not ready: "+clipReason(err.Error())+"\n")
	}
	return writeText(w, http.StatusOK, "ok\n")
}

func clipReason(s string) string {
	const n = 200
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

func writeText(w http.ResponseWriter, status int, body string) error {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, err := io.WriteString(w, body)
	return err
}

func (s *Server) serveMetrics(w http.ResponseWriter, r *http.Request) error {
	s.metrics.http.ServeHTTP(w, r)
	return nil
}
