package flaskapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"time"

	"github.com/comfygate/comfygate/internal/gateway"
	"github.com/comfygate/comfygate/internal/job"
)

// The task_status bodies, one type per status (README "任务状态查询" and
// app.py check_task_status). Fields are alphabetical, as jsonify sorts.
type (
	pendingStatus struct {
		Message       string `json:"message"`
		QueuePosition int    `json:"queue_position"` // 1-based, as index+1 in app.py
		Status        string `json:"status"`
	}
	runningStatus struct {
		ExecutionInfo executionInfo `json:"execution_info"`
		Message       string        `json:"message"`
		Status        string        `json:"status"`
	}
	// executionInfo replaces the raw ComfyUI queue item app.py returned
	// with what a poller wants to show: how far the run is.
	executionInfo struct {
		Max        float64 `json:"max"`
		Node       string  `json:"node,omitempty"`
		NodeType   string  `json:"node_type,omitempty"`
		NodesDone  int     `json:"nodes_done"`
		NodesTotal int     `json:"nodes_total"`
		Progress   float64 `json:"progress"`
		PromptID   string  `json:"prompt_id"`
		Value      float64 `json:"value"`
	}
	completedStatus struct {
		ExecutionTime float64                    `json:"execution_time"`
		Images        []imageRef                 `json:"images"`
		Message       string                     `json:"message"`
		NodeErrors    map[string]any             `json:"node_errors"`
		Outputs       map[string]json.RawMessage `json:"outputs"` // ComfyUI's, as app.py returned
		Status        string                     `json:"status"`
	}
	// errorStatus is a run that ended without results. Message carries the
	// reason: the Dify client in the Flask repository shows only it.
	errorStatus struct {
		Error   string `json:"error"`
		Message string `json:"message"`
		Status  string `json:"status"`
	}
	notFoundStatus struct {
		Message string `json:"message"`
		Status  string `json:"status"`
	}
	// imageRef is one image as the README and app.py get_image list it.
	imageRef struct {
		Filename  string `json:"filename"`
		Subfolder string `json:"subfolder"`
		Type      string `json:"type"`
		URL       string `json:"url"`
	}
	imageList struct {
		Images []imageRef `json:"images"`
		Status string     `json:"status"`
	}
)

const msgTaskNotFound = "Task not found in queue or history"

// ownedJob loads a job the caller may see, through the use cases' owner
// check; errNoJob hides whether a job is absent or someone else's.
func (h *Handler) ownedJob(ctx context.Context, owner, id string) (gateway.JobStatus, error) {
	j, err := h.svc.GetJob(ctx, owner, id)
	if errors.Is(err, gateway.ErrNotFound) {
		return j, errNoJob
	}
	if err != nil {
		return j, fmt.Errorf("get job %s: %w", id, err)
	}
	return j, nil
}

// errNoJob: no job of the caller's has that id.
var errNoJob = errors.New("no such job")

// taskStatus is GET /api/task_status/{prompt_id}. Every status, not_found
// included, answers 200 as the Flask service does, so pollers that raise on
// HTTP errors still read it.
func (h *Handler) taskStatus(w http.ResponseWriter, r *http.Request, owner string) error {
	id := r.PathValue("prompt_id")
	j, err := h.ownedJob(r.Context(), owner, id)
	if errors.Is(err, errNoJob) {
		return writeJSON(w, http.StatusOK, notFoundStatus{Message: msgTaskNotFound, Status: "not_found"})
	}
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, h.statusOf(r, j))
}

func (h *Handler) statusOf(r *http.Request, j gateway.JobStatus) any {
	switch j.State {
	case job.StateQueued, job.StateRetrying:
		if j.QueuePosition != nil {
			return pendingStatus{Message: "Task is waiting in queue", QueuePosition: *j.QueuePosition + 1, Status: "pending"}
		}
		// Dispatched between the two reads: it is running now.
	case job.StateSucceeded:
		return h.completed(r, j.Job)
	case job.StateFailed:
		msg := "Task failed"
		if j.Error != nil {
			msg = j.Error.Error()
		}
		return errorStatus{Error: msg, Message: msg, Status: "error"}
	case job.StateCancelled:
		return errorStatus{Error: "cancelled", Message: "Task was cancelled", Status: "error"}
	}
	return runningStatus{ExecutionInfo: executionInfoOf(j.Job), Message: "Task is currently running", Status: "running"}
}

func executionInfoOf(j *job.Job) executionInfo {
	p := j.Progress
	return executionInfo{Max: p.Max, Node: p.Node, NodeType: p.NodeType, NodesDone: p.NodesDone,
		NodesTotal: p.NodesTotal, Progress: p.Fraction, PromptID: j.ID, Value: p.Value}
}

func (h *Handler) completed(r *http.Request, j *job.Job) completedStatus {
	c := completedStatus{ExecutionTime: executionTime(j), Images: h.imagesOf(r, j),
		Message: "Image generation completed", NodeErrors: map[string]any{},
		Outputs: nodeOutputs(j.Outputs), Status: "completed"}
	if len(c.Images) == 0 {
		c.Message = "Task completed but no images found"
	}
	return c
}

// executionTime is the run's duration in seconds (ms precision): from the
// backend starting it, or failing that from dispatch or creation.
func executionTime(j *job.Job) float64 {
	start := j.StartedAt
	for _, t := range []time.Time{j.DispatchedAt, j.CreatedAt} {
		if start.IsZero() {
			start = t
		}
	}
	if start.IsZero() || j.FinishedAt.Before(start) {
		return 0
	}
	return math.Round(j.FinishedAt.Sub(start).Seconds()*1000) / 1000
}

// imagesOf lists the job's stored images with urls that download them.
func (h *Handler) imagesOf(r *http.Request, j *job.Job) []imageRef {
	out := []imageRef{}
	base := h.baseURL(r) + h.cfg.ArtifactPath
	for _, o := range j.Outputs {
		if o.Kind != "images" || o.ArtifactID == "" {
			continue
		}
		out = append(out, imageRef{Filename: o.Filename, Subfolder: job.ClientSubfolder(o.Subfolder),
			Type: orDefault(o.Type, "output"), URL: base + o.ArtifactID})
	}
	return out
}

// images is GET /api/image/{prompt_id} (app.py get_image): the image list
// of a finished job, or 404 with the reason there is none.
func (h *Handler) images(w http.ResponseWriter, r *http.Request, owner string) error {
	id := r.PathValue("prompt_id")
	j, err := h.ownedJob(r.Context(), owner, id)
	if errors.Is(err, errNoJob) {
		return errorf(http.StatusNotFound, "History not found")
	}
	if err != nil {
		return err
	}
	switch j.State {
	case job.StateSucceeded:
	case job.StateFailed, job.StateCancelled:
		return errorf(http.StatusNotFound, "No outputs found in history: the task %s", endedHow(j.Job))
	default:
		return errorf(http.StatusNotFound, "History not found: the task is %s, not finished", j.State)
	}
	list := h.imagesOf(r, j.Job)
	if len(list) == 0 {
		return errorf(http.StatusNotFound, "No images found in output")
	}
	return writeJSON(w, http.StatusOK, imageList{Images: list, Status: "success"})
}

func endedHow(j *job.Job) string {
	if j.State == job.StateCancelled {
		return "was cancelled"
	}
	if j.Error == nil {
		return "failed"
	}
	return "failed: " + j.Error.Error()
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
