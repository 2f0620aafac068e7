package httpapi

import (
	"encoding/json"
	"time"

	"github.com/comfygate/comfygate/api"
	"github.com/comfygate/comfygate/comfy"
	"github.com/comfygate/comfygate/internal/gateway"
	"github.com/comfygate/comfygate/internal/job"
	"github.com/comfygate/comfygate/workflow"
)

// The domain's answers in the REST API's wire types.

func artifactURL(id string) string { return "/v1/artifacts/" + id }

// jobView renders a job for callers.
func jobView(st gateway.JobStatus) api.Job {
	j := st.Job
	v := api.Job{
		ID: j.ID, State: api.JobState(j.State), Workflow: j.Workflow,
		WorkflowVersion: j.WorkflowVersion, Params: j.Params, Priority: j.Priority,
		QueuePosition: st.QueuePosition, Attempts: j.Attempts, Backend: j.Backend, CreatedAt: j.CreatedAt,
		DispatchedAt: timePtr(j.DispatchedAt), StartedAt: timePtr(j.StartedAt),
		FinishedAt: timePtr(j.FinishedAt), CancelRequested: j.CancelRequested,
		Outputs: make([]api.Output, 0, len(j.Outputs)), Webhook: redactURL(j.Webhook),
	}
	switch j.State {
	case job.StateDispatched, job.StateRunning, job.StateSucceeded:
		p := api.Progress(j.Progress)
		if j.State == job.StateSucceeded {
			p.Fraction = 1
		}
		v.Progress = &p
	}
	for _, o := range j.Outputs {
		v.Outputs = append(v.Outputs, outputView(o))
	}
	v.Error = errorView(j)
	return v
}

// rendered is d in its wire form, or err with the zero wire value.
func rendered[D, W any](d D, err error, view func(D) W) (W, error) {
	if err != nil {
		var zero W
		return zero, err
	}
	return view(d), nil
}

// each renders every element of a list with view; never nil, so an empty
// list is [] on the wire.
func each[D, W any](view func(D) W) func([]D) []W {
	return func(list []D) []W {
		out := make([]W, 0, len(list))
		for _, d := range list {
			out = append(out, view(d))
		}
		return out
	}
}

func uploadView(a *job.Artifact) api.Upload {
	return api.Upload{ID: a.ID, Filename: a.Filename, ContentType: a.ContentType, Size: a.Size, URL: artifactURL(a.ID)}
}

func outputView(o job.Output) api.Output {
	out := api.Output{ArtifactID: o.ArtifactID, ContentType: o.ContentType, Size: o.Size,
		NodeID: o.NodeID, Kind: o.Kind, Filename: o.Filename, Text: o.Text}
	if o.ArtifactID != "" {
		out.URL = artifactURL(o.ArtifactID)
	}
	return out
}

func errorView(j *job.Job) *api.JobError {
	if j.Error == nil {
		return nil
	}
	e := &api.JobError{Type: j.Error.Type, Message: j.Error.Message, NodeID: j.Error.NodeID,
		NodeType: j.Error.NodeType, Traceback: j.Error.Traceback}
	for _, a := range j.AttemptLog {
		if a.Error != "" {
			e.Attempts = append(e.Attempts, api.AttemptError{Backend: a.Backend, Message: a.Error})
		}
	}
	return e
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func workflowView(w gateway.Workflow) api.Workflow {
	v := api.Workflow{Name: w.Name, Version: w.Version, Description: w.Description, Shared: w.Owner == "", Graph: w.Graph,
		Params: make([]api.Param, 0, len(w.Params)), Schema: workflow.Schema(w.Params),
		CreatedAt: w.CreatedAt, UpdatedAt: w.UpdatedAt, Warnings: w.Warnings}
	for _, p := range w.Params {
		v.Params = append(v.Params, paramView(p))
	}
	return v
}

func paramView(p workflow.Param) api.Param {
	return api.Param{Name: p.Name, Target: p.Target.String(), Type: p.Type, Default: p.Default,
		Minimum: numberOrNil(p.Minimum), Maximum: numberOrNil(p.Maximum), Step: numberOrNil(p.Step),
		Enum: p.Enum, Description: p.Description}
}

func numberOrNil(n json.Number) any {
	if n == "" {
		return nil
	}
	return n
}

func backendView(b gateway.Backend) api.Backend {
	v := api.Backend{
		ID: b.ID, URL: b.URL, State: b.State, Running: []string{}, Prefetch: b.Waiting,
		Done: b.Done, Failed: b.Failed, LatencyMS: milliseconds(b.Latency),
		Version: b.Version, NodeCount: b.NodeCount, Models: b.Models, Devices: devicesView(b.Devices),
		LastError: b.LastError,
	}
	if !b.LastErrorAt.IsZero() {
		at := b.LastErrorAt.UTC()
		v.LastErrorAt = &at
	}
	if b.Running != "" {
		v.Running = append(v.Running, b.Running)
	}
	if v.Prefetch == nil {
		v.Prefetch = []string{}
	}
	return v
}

func probeView(p gateway.BackendProbe) api.BackendProbe {
	return api.BackendProbe{URL: p.URL, LatencyMS: milliseconds(p.Latency), Version: p.Version,
		VRAMTotal: p.VRAMTotal, VRAMFree: p.VRAMFree, NodeCount: p.NodeCount, Devices: devicesView(p.Devices)}
}

func devicesView(ds []comfy.Device) []api.Device {
	var out []api.Device
	for _, d := range ds {
		out = append(out, api.Device{Name: d.Name, Type: d.Type, VRAMTotal: d.VRAMTotal, VRAMFree: d.VRAMFree})
	}
	return out
}

func milliseconds(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// JobView renders a stored job as GET /v1/jobs/{id} shows it, without a
// queue position: what a webhook message carries as its data.
func JobView(j *job.Job) api.Job { return jobView(gateway.JobStatus{Job: j}) }
