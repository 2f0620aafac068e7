package httpapi

import (
	"io"
	"net/http"

	"github.com/comfygate/comfygate/api"
)

// The backend admin routes change the fleet; server.go gives them
// classAdmin, so with API keys on only admin keys reach these handlers.

func (s *Server) addBackend(w http.ResponseWriter, r *http.Request) error {
	data, err := io.ReadAll(r.Body)
	if err != nil {
		return err
	}
	req, err := decodeAddBackend(data)
	if err != nil {
		return err
	}
	b, err := s.svc.AddBackend(r.Context(), req)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, b)
}

func (s *Server) testBackend(w http.ResponseWriter, r *http.Request) error {
	data, err := io.ReadAll(r.Body)
	if err != nil {
		return err
	}
	req, err := decodeTestBackend(data)
	if err != nil {
		return err
	}
	p, err := s.svc.TestBackend(r.Context(), req.URL)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, p)
}

func (s *Server) removeBackend(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if err := s.svc.RemoveBackend(r.Context(), id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) drainBackend(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	b, err := s.svc.DrainBackend(r.Context(), id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, b)
}

func (s *Server) resumeBackend(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	b, err := s.svc.ResumeBackend(r.Context(), id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, b)
}

// decodeAddBackend and decodeTestBackend are the decoders of the untrusted
// bodies of POST /v1/backends and /v1/backends/test.
func decodeAddBackend(data []byte) (api.AddBackendRequest, error) {
	var req api.AddBackendRequest
	if err := decodeStrict(data, &req); err != nil {
		return req, err
	}
	return req, requireURL(req.URL)
}

func decodeTestBackend(data []byte) (api.TestBackendRequest, error) {
	var req api.TestBackendRequest
	if err := decodeStrict(data, &req); err != nil {
		return req, err
	}
	return req, requireURL(req.URL)
}

// requireURL is the transport's part of checking a backend URL: it is
// there. What makes it a usable one is the gateway's to say.
func requireURL(u string) error {
	if u == "" {
		return badRequest("url", "is required: the ComfyUI base URL, e.g. http://10.0.0.7:8188")
	}
	return nil
}
