package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/comfygate/comfygate/comfy"
	"github.com/comfygate/comfygate/internal/events"
	"github.com/comfygate/comfygate/internal/job"
	"github.com/comfygate/comfygate/workflow"
)

// overloadRetry is how long a caller refused for a full queue is asked to
// wait.
const overloadRetry = 5 * time.Second

// Submitted is the answer of Submit.
type Submitted struct {
	JobStatus
	// Replayed: the idempotency key was used before with the same request,
	// and the job is the one that request created.
	Replayed bool
}

// Submit is the one way a job comes to be, whichever surface it came
// through: the submission's graph is resolved (a stored workflow bound
// with its parameters, or the prompt as given, with overrides), its file
// inputs staged, checked against the fleet's node catalog, admitted
// against the backlog, stored with its "queued" event in one durable
// commit, announced on the event hub and handed to the scheduler.
//
// With an idempotency key already used for the same request it returns
// the original job and Replayed; with a prompt_id the owner used before,
// the new job supersedes the earlier one (see createGeneration).
func (s *Service) Submit(ctx context.Context, sub job.Submission) (Submitted, error) {
	return s.submit(ctx, sub, nil)
}

// SubmitParsed is Submit for a surface that has parsed its prompt itself
// (with the same workflow.Limits) and validated it against Catalog():
// graph is the validated graph, in place of sub.Prompt, and sub.Outputs
// the output nodes that passed. The graph is taken as it is, not encoded,
// parsed and validated a second time; Submit may change it (staged input
// names). Everything else is as for Submit, the check that some backend
// can run the graph included.
func (s *Service) SubmitParsed(ctx context.Context, sub job.Submission, graph workflow.Graph) (Submitted, error) {
	if graph == nil {
		return Submitted{}, &InputError{Field: "prompt", Problem: "is empty"}
	}
	return s.submit(ctx, sub, graph)
}

func (s *Service) submit(ctx context.Context, sub job.Submission, parsed workflow.Graph) (Submitted, error) {
	if err := checkSubmission(sub); err != nil {
		return Submitted{}, err
	}
	if sub.Webhook != "" {
		if err := s.CheckWebhook(sub.Webhook); err != nil {
			return Submitted{}, err
		}
	}
	r, err := s.resolve(ctx, sub, parsed)
	if err != nil {
		return Submitted{}, err
	}
	given, err := s.stageInputs(ctx, sub.Owner, r)
	if err != nil {
		return Submitted{}, err
	}
	outputs, err := s.validate(r.graph, sub.Outputs, parsed != nil)
	if err != nil {
		return Submitted{}, err
	}
	depth, pos := s.queue.admit(ctx, sub.Priority)
	if depth >= s.cfg.MaxQueued {
		return Submitted{}, &OverloadError{Message: fmt.Sprintf("queue is full (%d jobs waiting)", depth), RetryAfter: overloadRetry}
	}
	j, err := s.newJob(sub, r, outputs)
	if err != nil {
		return Submitted{}, err
	}
	data, _ := json.Marshal(job.QueuedData{Position: pos})
	res := s.reserve(j, sub)
	c, err := s.create(ctx, j, &job.Event{Type: job.EventQueued, Data: data}, sub, given, res)
	if res != nil && c.Next == nil {
		res.Release() // not stored dispatched: failed, or a replay
	}
	if err != nil {
		return Submitted{}, err
	}
	if c.Replayed {
		return Submitted{JobStatus: s.status(ctx, c.Created), Replayed: true}, nil
	}
	s.announce(c, res)
	return Submitted{JobStatus: JobStatus{Job: c.Created, QueuePosition: &pos}}, nil
}

// reserve asks the fleet for a slot for j, so that its commit stores it
// dispatched; nil when there is none, or when j's id is not settled (a
// prompt_id's generations are tried one id after another).
func (s *Service) reserve(j *job.Job, sub job.Submission) Reservation {
	if s.cfg.Reserver == nil || sub.PromptID != "" {
		return nil
	}
	return s.cfg.Reserver.Reserve(j)
}

// checkSubmission refuses what no surface should send: a submission
// without its surface is a wiring bug, a priority out of range the
// caller's mistake.
func checkSubmission(sub job.Submission) error {
	switch sub.Source {
	case job.SourceREST, job.SourceComfy, job.SourceFlask:
	default:
		return fmt.Errorf("gateway: submission from unknown source %q", sub.Source)
	}
	if sub.Priority < job.MinPriority || sub.Priority > job.MaxPriority {
		return &InputError{Field: "priority", Problem: fmt.Sprintf("must be between %d and %d", job.MinPriority, job.MaxPriority)}
	}
	return CheckWebhookEvents(sub.WebhookEvents)
}

func (s *Service) newJob(sub job.Submission, r resolved, outputs []string) (*job.Job, error) {
	graph, err := json.Marshal(r.graph)
	if err != nil {
		return nil, fmt.Errorf("encode graph: %w", err)
	}
	number, _ := sub.Number.Float64()
	return &job.Job{
		ID: uuid.NewString(), Owner: sub.Owner, Source: sub.Source, ClientID: sub.ClientID,
		Workflow: r.name, WorkflowVersion: r.version, Params: r.params,
		Graph: graph, OutputNodes: outputs, ExtraData: sub.ExtraData, Priority: sub.Priority,
		Number: number, State: job.StateQueued, MaxAttempts: s.cfg.MaxAttempts,
		IdempotencyKey: sub.IdempotencyKey, RequestHash: sub.RequestHash, Webhook: sub.Webhook,
		WebhookEvents: sub.WebhookEvents, OutputOptions: sub.OutputOptions, CreatedAt: s.cfg.Clock(),
	}, nil
}

// create stores j and its first event in one commit: one fsync per
// submission, and no stored job without its first event. With a
// reservation the same commit records the job's dispatch (Next is then
// set). A job of the ComfyUI-compatible surface gets its ComfyMeta, and a
// caller's prompt_id picks the job id (see createGeneration).
func (s *Service) create(ctx context.Context, j *job.Job, first *job.Event, sub job.Submission, given clientValues, res Reservation) (job.Creation, error) {
	var m job.ComfyMeta
	if sub.Source == job.SourceComfy {
		m = job.ComfyMeta{Number: sub.Number, Client: sub.HasClientID, Inputs: given}
		j.Comfy = m.Raw()
	}
	if sub.PromptID != "" {
		stored, replayed, ev, err := s.createGeneration(ctx, j, first, sub.PromptID, m)
		return job.Creation{Created: stored, First: ev, Replayed: replayed}, err
	}
	var (
		c   job.Creation
		err error
	)
	if res != nil {
		c, err = s.cfg.Store.CreateJobThenUpdate(ctx, j, first, res.Claim)
	} else {
		c.Created, c.Replayed, c.First, err = s.cfg.Store.CreateJobWithEvent(ctx, j, first)
	}
	if err != nil {
		return job.Creation{}, s.createError(sub.IdempotencyKey, err)
	}
	return c, nil
}

func (s *Service) createError(key string, err error) error {
	if errors.Is(err, job.ErrIdempotencyMismatch) {
		return &ConflictError{Code: "idempotency_key_reused",
			Message: fmt.Sprintf("Idempotency-Key %q was already used with a different request", key)}
	}
	return fmt.Errorf("store job: %w", err)
}

// announce publishes the first event of a new job, stored with it, and
// hands the job to the fleet: a queued one to the scheduler, one stored
// dispatched to its reservation, which publishes the "dispatched" event
// next. Publishing waits for the commit, so no subscriber sees an event
// that could still be lost.
func (s *Service) announce(c job.Creation, res Reservation) {
	j := c.Created
	if c.Next == nil {
		s.queue.accepted(job.QueueKey{Priority: j.Priority, Seq: j.Seq})
	}
	s.cfg.Hub.Publish(events.WithJob(j, *c.First))
	if c.Next != nil {
		res.Start(c.Updated, c.Next)
		return
	}
	s.cfg.Fleet.Enqueue(j)
}

// validate checks the graph against the fleet's node catalog, as ComfyUI
// would, and that some backend can run it; it returns the output nodes to
// run (those of only, when it is not nil). Without a catalog (no backend
// has answered yet) the job is accepted and the backend validates it. A
// graph the surface validated (checked) is only checked to be runnable.
func (s *Service) validate(g workflow.Graph, only []string, checked bool) ([]string, error) {
	if checked {
		return only, s.runnable(g)
	}
	cat := s.Catalog()
	if cat == nil {
		return nil, nil
	}
	// No InputFileExists: staged inputs were checked while staging, and
	// other file names are checked by the backend itself at dispatch.
	res := cat.Validate(g, workflow.ValidateOptions{PartialTargets: only})
	if res.Err != nil {
		return nil, &InputError{Field: "prompt", Problem: res.Err.Error()}
	}
	if res.Error != nil {
		return nil, validationError(res.Error, res.NodeErrors)
	}
	if err := s.runnable(res.Graph); err != nil {
		return nil, err
	}
	return res.Outputs, nil
}

// runnable checks that some backend can run g.
func (s *Service) runnable(g workflow.Graph) error {
	if err := s.cfg.Fleet.CheckRunnable(g); err != nil {
		return &UnrunnableError{Message: err.Error()}
	}
	return nil
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
