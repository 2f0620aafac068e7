package httpapi

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/comfygate/comfygate/api"
)

// submitJob answers 201 Created with the job and its Location. With ?wait=
// it holds the answer until the job ends: 201 if it ended in time, 202
// Accepted with the job as it stands if not. A replayed Idempotency-Key
// gets the same status rules and the job as it stands now, plus the header
// Idempotent-Replayed: true, so a retrying client cannot tell a lost
// response from a new one except by that header.
func (s *Server) submitJob(w http.ResponseWriter, r *http.Request) error {
	return s.submitWith(w, r, decodeSubmit)
}

// submitWith answers a submission whose body decode turns into a request;
// POST /v1/jobs and POST /v1/workflows/{name}/jobs differ only there.
func (s *Server) submitWith(w http.ResponseWriter, r *http.Request, decode func([]byte) (api.SubmitJobRequest, error)) error {
	wait, err := parseWait(r, s.cfg.MaxWait)
	if err != nil {
		return err
	}
	key, err := idempotencyKey(r)
	if err != nil {
		return err
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return err
	}
	req, err := decode(body)
	if err != nil {
		return err
	}
	owner := ownerOf(r)
	job, replayed, err := s.svc.SubmitJob(r.Context(), owner, req, key)
	if err != nil {
		return err
	}
	if job, err = s.waitFor(r.Context(), owner, job, wait); err != nil {
		return err
	}
	if req.Outputs != nil && req.Outputs.Inline && wait > 0 {
		open := func(ctx context.Context, id string) (io.ReadCloser, error) { return s.svc.OpenArtifact(ctx, owner, id) }
		if err := InlineOutputs(r.Context(), &job, open, MaxInlineBytes); err != nil {
			return err
		}
	}
	h := w.Header()
	h.Set("Location", "/v1/jobs/"+url.PathEscape(job.ID))
	if replayed {
		h.Set("Idempotent-Replayed", "true")
	}
	status := http.StatusCreated
	if wait > 0 && !job.State.Terminal() {
		status = http.StatusAccepted
	}
	return writeJSON(w, status, job)
}

// waitFor holds until job is terminal or wait is over; wait 0 returns job.
func (s *Server) waitFor(ctx context.Context, owner string, job api.Job, wait time.Duration) (api.Job, error) {
	if wait <= 0 || job.State.Terminal() {
		return job, nil
	}
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	// A graceful shutdown answers waiting requests with the job as it
	// stands instead of holding the shutdown for their whole wait. The
	// goroutine ends with ctx, which the deferred cancel guarantees.
	go func() {
		select {
		case <-s.drained:
			cancel()
		case <-ctx.Done():
		}
	}()
	got, err := s.svc.WaitJob(ctx, owner, job.ID)
	if err != nil && ctx.Err() != nil {
		// Running out of wait is not a failure: answer with what we know.
		return job, nil
	}
	return got, err
}

func (s *Server) getJob(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	wait, err := parseWait(r, s.cfg.MaxWait)
	if err != nil {
		return err
	}
	owner := ownerOf(r)
	job, err := s.svc.GetJob(r.Context(), owner, id)
	if err != nil {
		return err
	}
	if job, err = s.waitFor(r.Context(), owner, job, wait); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, job)
}

func (s *Server) listJobs(w http.ResponseWriter, r *http.Request) error {
	q, err := parseJobQuery(r)
	if err != nil {
		return err
	}
	list, err := s.svc.ListJobs(r.Context(), ownerOf(r), q)
	if err != nil {
		return err
	}
	if list.Jobs == nil {
		list.Jobs = []api.Job{}
	}
	return writeJSON(w, http.StatusOK, list)
}

// deleteJob answers 204 once the job and the files only it used are gone.
func (s *Server) deleteJob(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if err := s.svc.DeleteJob(r.Context(), ownerOf(r), id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) cancelJob(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	job, err := s.svc.CancelJob(r.Context(), ownerOf(r), id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, job)
}
