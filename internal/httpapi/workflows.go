package httpapi

import (
	"io"
	"net/http"
	"net/url"

	"github.com/comfygate/comfygate/api"
)

func (s *Server) putWorkflow(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("name")
	if err := checkName("name", name); err != nil {
		return err
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return err
	}
	if err := checkJSON(body); err != nil {
		return err
	}
	wf, created, err := s.svc.PutWorkflow(r.Context(), ownerOf(r), name, body)
	if err != nil {
		return err
	}
	s.doc.invalidate()
	status := http.StatusOK
	if created {
		status = http.StatusCreated
		w.Header().Set("Location", "/v1/workflows/"+url.PathEscape(name))
	}
	return writeJSON(w, status, wf)
}

func (s *Server) getWorkflow(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("name")
	if err := checkName("name", name); err != nil {
		return err
	}
	wf, err := s.svc.GetWorkflow(r.Context(), ownerOf(r), name)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, wf)
}

func (s *Server) listWorkflows(w http.ResponseWriter, r *http.Request) error {
	wfs, err := s.svc.ListWorkflows(r.Context(), ownerOf(r))
	if err != nil {
		return err
	}
	if wfs == nil {
		wfs = []api.Workflow{}
	}
	return writeJSON(w, http.StatusOK, api.WorkflowList{Workflows: wfs})
}

func (s *Server) deleteWorkflow(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("name")
	if err := checkName("name", name); err != nil {
		return err
	}
	if err := s.svc.DeleteWorkflow(r.Context(), ownerOf(r), name); err != nil {
		return err
	}
	s.doc.invalidate()
	w.WriteHeader(http.StatusNoContent)
	return nil
}
