package gateway

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/google/uuid"

	"github.com/comfygate/comfygate/api"
	"github.com/comfygate/comfygate/comfy"
	"github.com/comfygate/comfygate/internal/events"
	"github.com/comfygate/comfygate/internal/job"
	"github.com/comfygate/comfygate/workflow"
)

// resolved is a submission turned into the graph that will run.
type resolved struct {
	graph   workflow.Graph
	name    string
	version string
	params  json.RawMessage
}

// SubmitJob validates a request, stores it durably as a queued job and wakes
// the scheduler. With an idempotency key already used for the same request
// it returns the original job and replayed == true.
func (s *Service) SubmitJob(ctx context.Context, owner string, req api.SubmitJobRequest, idemKey string) (api.Job, bool, error) {
	if req.Priority < api.MinPriority || req.Priority > api.MaxPriority {
		return api.Job{}, false, &InputError{Field: "priority", Problem: fmt.Sprintf("must be between %d and %d", api.MinPriority, api.MaxPriority)}
	}
	hash, err := requestHash(req)
	if err != nil {
		return api.Job{}, false, err
	}
	if req.Webhook != nil {
		if err := s.CheckWebhook(req.Webhook.URL); err != nil {
			return api.Job{}, false, err
		}
	}
	r, err := s.resolve(ctx, owner, req)
	if err != nil {
		return api.Job{}, false, err
	}
	outputs, err := s.validate(r)
	if err != nil {
		return api.Job{}, false, err
	}
	depth := s.queueDepth(ctx)
	if depth >= s.cfg.MaxQueued {
		return api.Job{}, false, &OverloadError{Message: fmt.Sprintf("queue is full (%d jobs waiting)", depth), RetryAfter: 5e9}
	}
	j, err := s.newJob(ctx, owner, req, r, outputs, idemKey, hash)
	if err != nil {
		return api.Job{}, false, err
	}
	// The job and its "queued" event are one commit: one fsync per
	// submission, and no stored job without its first event. The jobs
	// waiting before this one are its position.
	data, _ := json.Marshal(job.QueuedData{Position: max(depth, 0)})
	stored, replayed, first, err := s.cfg.Store.CreateJobWithEvent(ctx, j, &job.Event{Type: job.EventQueued, Data: data})
	if err != nil {
		return api.Job{}, false, s.createError(idemKey, err)
	}
	if !replayed {
		s.announce(stored, first)
	}
	return s.view(stored), replayed, nil
}

func (s *Service) createError(key string, err error) error {
	if errors.Is(err, job.ErrIdempotencyMismatch) {
		return &ConflictError{Code: "idempotency_key_reused",
			Message: fmt.Sprintf("Idempotency-Key %q was already used with a different request", key)}
	}
	return fmt.Errorf("store job: %w", err)
}

// announce publishes the first event of a new job, stored with it, and
// wakes the scheduler. Publishing waits for the commit, so no subscriber
// sees an event that could still be lost.
func (s *Service) announce(j *job.Job, first *job.Event) {
	s.accepted()
	s.cfg.Hub.Publish(events.FromStore(j.Owner, *first))
	s.cfg.Fleet.Enqueue(j.ID)
}

func (s *Service) newJob(ctx context.Context, owner string, req api.SubmitJobRequest, r resolved, outputs []string, key, hash string) (*job.Job, error) {
	graph, err := json.Marshal(r.graph)
	if err != nil {
		return nil, fmt.Errorf("encode graph: %w", err)
	}
	source, clientID := originOf(ctx)
	if source == "" {
		source = job.SourceREST
	}
	j := &job.Job{
		ID: uuid.NewString(), Owner: owner, Source: source, ClientID: clientID,
		Workflow: r.name, WorkflowVersion: r.version, Params: r.params,
		Graph: graph, OutputNodes: outputs, Priority: req.Priority,
		State: job.StateQueued, MaxAttempts: s.cfg.MaxAttempts,
		IdempotencyKey: key, RequestHash: hash,
		CreatedAt: s.cfg.Clock(),
	}
	if req.Webhook != nil {
		j.Webhook, j.WebhookEvents = req.Webhook.URL, req.Webhook.Events
	}
	if o := req.Outputs; o != nil {
		j.OutputOptions = job.OutputOptions{Format: o.Format, Quality: o.Quality, Inline: o.Inline}
	}
	return j, nil
}

// resolve turns a request into a bound graph with staged inputs.
func (s *Service) resolve(ctx context.Context, owner string, req api.SubmitJobRequest) (resolved, error) {
	var r resolved
	var err error
	switch {
	case req.Workflow != "" && len(req.Prompt) > 0:
		return r, &InputError{Field: "prompt", Problem: "give either workflow or prompt, not both"}
	case req.Workflow != "":
		r, err = s.fromWorkflow(ctx, req)
	case len(req.Prompt) > 0:
		r, err = s.fromPrompt(req)
	default:
		return r, &InputError{Field: "workflow", Problem: "either workflow or prompt is required"}
	}
	if err != nil {
		return r, err
	}
	if len(req.Overrides) > 0 {
		if r.graph, err = applyOverrides(r.graph, req.Overrides); err != nil {
			return r, err
		}
	}
	if err := s.stageGraphInputs(ctx, owner, r.graph); err != nil {
		return r, err
	}
	return r, nil
}

func (s *Service) fromWorkflow(ctx context.Context, req api.SubmitJobRequest) (resolved, error) {
	wf, err := s.cfg.Store.GetWorkflow(ctx, req.Workflow, req.Version)
	if err != nil {
		return resolved{}, notFound("workflow", req.Workflow, err)
	}
	g, params, err := decodeStored(wf, s.cfg.Limits)
	if err != nil {
		return resolved{}, err
	}
	bound, err := workflow.Bind(g, params, req.Params)
	if err != nil {
		return resolved{}, paramError(err)
	}
	// What the ComfyUI editor expands when it queues (%date:…%, %Node.widget%).
	bound = workflow.ExpandTextTokens(bound, s.cfg.Clock())
	raw, _ := json.Marshal(req.Params)
	if len(req.Params) == 0 {
		raw = nil
	}
	return resolved{graph: bound, name: wf.Name, version: wf.Version, params: raw}, nil
}

func (s *Service) fromPrompt(req api.SubmitJobRequest) (resolved, error) {
	if len(req.Params) > 0 {
		return resolved{}, &InputError{Field: "params", Problem: "params need a workflow; use overrides with a raw prompt"}
	}
	g, err := workflow.ParseGraph(req.Prompt, s.cfg.Limits)
	if err != nil {
		return resolved{}, &InputError{Field: "prompt", Problem: err.Error()}
	}
	return resolved{graph: g}, nil
}

// validate checks the graph against the fleet's node catalog, as ComfyUI
// would, and that some backend can run it. Without a catalog (no backend
// has answered yet) the job is accepted and the backend validates it.
func (s *Service) validate(r resolved) ([]string, error) {
	cat := s.cfg.Fleet.Catalog()
	if cat == nil {
		return nil, nil
	}
	// No InputFileExists: staged inputs were checked while staging, and
	// other file names are checked by the backend itself at dispatch.
	res := cat.Validate(r.graph, workflow.ValidateOptions{})
	if res.Error != nil {
		return nil, validationError(res.Error, res.NodeErrors)
	}
	if err := s.cfg.Fleet.CheckRunnable(res.Graph); err != nil {
		return nil, &UnrunnableError{Message: err.Error()}
	}
	return res.Outputs, nil
}

// validationError names the first failing node and input in its message and
// carries every node error for callers that want them all.
func validationError(top *comfy.ErrorInfo, nodes map[string]comfy.NodeError) error {
	ids := make([]string, 0, len(nodes))
	for id := range nodes {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(a, b int) bool { return workflow.NaturalCompare(ids[a], ids[b]) < 0 })
	e := &InputError{Field: "prompt", Problem: top.Message, NodeErrors: map[string]any{}}
	for i, id := range ids {
		ne := nodes[id]
		e.NodeErrors[id] = ne
		if i == 0 && len(ne.Errors) > 0 {
			first := ne.Errors[0]
			e.Field = "prompt." + id
			if name, ok := first.ExtraInfo["input_name"].(string); ok {
				e.Field += ".inputs." + name
			}
			e.Problem = fmt.Sprintf("node %s (%s): %s", id, ne.ClassType, strings.TrimSpace(first.Message+": "+first.Details))
		}
	}
	return e
}

// requestHash fingerprints a request for idempotency. encoding/json sorts
// map keys, so equal requests hash equally.
func requestHash(req api.SubmitJobRequest) (string, error) {
	b, err := json.Marshal(req)
	if err != nil {
		return "", &InputError{Field: "params", Problem: err.Error()}
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}
