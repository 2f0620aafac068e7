package client_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http/httptest"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/comfygate/comfygate/api"
	"github.com/comfygate/comfygate/internal/gateway"
	"github.com/comfygate/comfygate/internal/httpapi"
	"github.com/comfygate/comfygate/internal/httpapi/httpapitest"
)

var epoch = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

// memory is a toy gateway: a job "runs" the moment it is submitted and
// leaves a fixed trail of events and one output.
type memory struct {
	mu        sync.Mutex
	jobs      map[string]api.Job
	order     []string
	events    map[string][]api.Event
	files     map[string][]byte
	workflows map[string]api.Workflow
}

func newMemory() *memory {
	return &memory{jobs: map[string]api.Job{}, events: map[string][]api.Event{}, files: map[string][]byte{}, workflows: map[string]api.Workflow{}}
}

// serve starts the real REST handler over m; stop it with the returned func.
func (m *memory) serve(cfg httpapi.Config) (*httptest.Server, func()) {
	s, err := httpapi.New(m.service(), cfg)
	if err != nil {
		panic(err)
	}
	ts := httptest.NewServer(s)
	return ts, func() { s.Drain(); ts.Close() }
}

func (m *memory) service() *httpapitest.Service {
	return &httpapitest.Service{
		SubmitJobFunc:     m.submit,
		GetJobFunc:        m.get,
		WaitJobFunc:       m.get,
		CancelJobFunc:     m.get,
		DeleteJobFunc:     m.delete,
		ListJobsFunc:      m.list,
		SubscribeJobFunc:  m.subscribe,
		PutWorkflowFunc:   m.putWorkflow,
		ListWorkflowsFunc: m.listWorkflows,
		UploadFunc:        m.upload,
		OpenArtifactFunc:  m.open,
		LinkArtifactFunc:  m.link,
		BackendsFunc: func(context.Context) ([]api.Backend, error) {
			return []api.Backend{{ID: "gpu0", URL: "http://127.0.0.1:8188", State: "healthy"}}, nil
		},
	}
}

func (m *memory) submit(_ context.Context, _ string, req api.SubmitJobRequest, _ string) (api.Job, bool, error) {
	if req.Workflow != "" && req.Workflow != "txt2img" {
		return api.Job{}, false, fmt.Errorf("workflow %s: %w", req.Workflow, gateway.ErrNotFound)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	id := "job-" + strconv.Itoa(len(m.jobs)+1)
	out := api.Output{ArtifactID: "img-" + id, URL: "/v1/artifacts/img-" + id, NodeID: "9", Kind: "images", Filename: "out.png", ContentType: "image/png", Size: 4}
	done := epoch.Add(time.Second)
	job := api.Job{ID: id, State: api.StateSucceeded, Workflow: req.Workflow, Priority: req.Priority, Outputs: []api.Output{out},
		Attempts: 1, Backend: "gpu0", CreatedAt: epoch, FinishedAt: &done}
	m.jobs[id], m.order = job, append(m.order, id)
	m.files["img-"+id] = []byte("\x89PNG")
	jobData, _ := json.Marshal(job)
	m.events[id] = []api.Event{
		{ID: "1", JobID: id, Type: api.EventQueued, Time: epoch, Data: json.RawMessage(`{"position":0}`)},
		{ID: "2", JobID: id, Type: api.EventStarted, Time: epoch, Data: json.RawMessage(`{"backend":"gpu0","attempt":1}`)},
		{ID: "2.1", JobID: id, Type: api.EventProgress, Time: epoch, Data: json.RawMessage(`{"value":10,"max":20,"fraction":0.5,"nodes_done":3,"nodes_total":7}`)},
		{ID: "3", JobID: id, Type: api.EventOutput, Time: epoch, Data: mustJSON(out)},
		{ID: "4", JobID: id, Type: api.EventSucceeded, Time: done, Data: jobData},
	}
	queued := job
	queued.State, queued.Outputs, queued.FinishedAt, queued.Attempts, queued.Backend = api.StateQueued, []api.Output{}, nil, 0, ""
	return queued, false, nil
}

func (m *memory) get(_ context.Context, _, id string) (api.Job, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	j, ok := m.jobs[id]
	if !ok {
		return api.Job{}, fmt.Errorf("job %s: %w", id, gateway.ErrNotFound)
	}
	return j, nil
}

// delete removes a job; "running" names a job that has not ended.
func (m *memory) delete(_ context.Context, _, id string) error {
	if id == "running" {
		return &gateway.ConflictError{Code: "job_not_finished", Message: "job running is running: cancel it first"}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.jobs[id]; !ok {
		return fmt.Errorf("job %s: %w", id, gateway.ErrNotFound)
	}
	delete(m.jobs, id)
	m.order = slices.DeleteFunc(m.order, func(o string) bool { return o == id })
	return nil
}

// list pages newest first, two jobs a page unless q.Limit says otherwise.
func (m *memory) list(_ context.Context, _ string, q api.JobQuery) (api.JobList, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	limit := q.Limit
	if limit == 0 {
		limit = 2
	}
	start, _ := strconv.Atoi(q.Cursor)
	var out api.JobList
	for i := len(m.order) - 1 - start; i >= 0 && len(out.Jobs) < limit; i-- {
		out.Jobs = append(out.Jobs, m.jobs[m.order[i]])
	}
	if next := start + len(out.Jobs); next < len(m.order) {
		out.NextCursor = strconv.Itoa(next)
	}
	return out, nil
}

func (m *memory) subscribe(_ context.Context, _, id, last string) (httpapi.Stream, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	evs, ok := m.events[id]
	if !ok {
		return nil, fmt.Errorf("job %s: %w", id, gateway.ErrNotFound)
	}
	skip := 0
	for i, e := range evs {
		if e.ID == last {
			skip = i + 1
		}
	}
	return httpapitest.StreamOf(evs[skip:]...), nil
}

func (m *memory) putWorkflow(_ context.Context, _, name string, body []byte) (api.Workflow, bool, error) {
	var req api.WorkflowRequest
	if err := json.Unmarshal(body, &req); err != nil || req.Graph == nil {
		return api.Workflow{}, false, &gateway.InputError{Field: "graph", Problem: "is required"}
	}
	sum := sha256.Sum256(body)
	m.mu.Lock()
	defer m.mu.Unlock()
	_, existed := m.workflows[name]
	wf := api.Workflow{Name: name, Version: hex.EncodeToString(sum[:4]), Description: req.Description, Graph: req.Graph,
		Params: []api.Param{}, Schema: map[string]any{"type": "object"}, CreatedAt: epoch, UpdatedAt: epoch}
	for pname, p := range req.Params {
		wf.Params = append(wf.Params, api.Param{Name: pname, Target: p.Target, Type: p.Type, Default: p.Default, Minimum: p.Minimum})
	}
	m.workflows[name] = wf
	return wf, !existed, nil
}

func (m *memory) listWorkflows(context.Context, string) ([]api.Workflow, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []api.Workflow
	for _, wf := range m.workflows {
		out = append(out, wf)
	}
	return out, nil
}

func (m *memory) upload(_ context.Context, _ string, r io.Reader, filename, ct string) (api.Upload, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return api.Upload{}, err
	}
	sum := sha256.Sum256(data)
	id := hex.EncodeToString(sum[:8])
	m.mu.Lock()
	m.files[id] = data
	m.mu.Unlock()
	return api.Upload{ID: id, Filename: filename, ContentType: ct, Size: int64(len(data)), URL: "/v1/artifacts/" + id}, nil
}

func (m *memory) open(_ context.Context, _, id string) (httpapi.Artifact, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	data, ok := m.files[id]
	if !ok {
		return nil, fmt.Errorf("artifact %s: %w", id, gateway.ErrNotFound)
	}
	return httpapitest.NewArtifact(bytes.Clone(data), "out.png", "image/png", id, epoch), nil
}

// link answers a URL naming the expiry it was asked for.
func (m *memory) link(_ context.Context, _, id string, expires time.Duration) (api.ArtifactLink, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.files[id]; !ok {
		return api.ArtifactLink{}, fmt.Errorf("artifact %s: %w", id, gateway.ErrNotFound)
	}
	return api.ArtifactLink{URL: "https://bucket.example/" + id + "?for=" + expires.String(), ExpiresAt: epoch.Add(expires)}, nil
}

func mustJSON(v any) json.RawMessage {
	data, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return data
}
