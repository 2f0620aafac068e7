package httpapi

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"time"

	"github.com/comfygate/comfygate/api"
	"github.com/comfygate/comfygate/internal/gateway"
	"github.com/comfygate/comfygate/internal/job"
)

// Gateway is the REST API's Service over the use cases: it turns wire
// requests into the gateway's domain calls and its answers into the wire
// types of package api. It is the only place REST's wire meets the domain.
func Gateway(svc *gateway.Service) Service { return gatewayService{svc} }

type gatewayService struct{ svc *gateway.Service }

// SubmitJob submits through the one submit use case, as the REST surface.
func (g gatewayService) SubmitJob(ctx context.Context, owner string, req api.SubmitJobRequest, key string) (api.Job, bool, error) {
	sub := job.Submission{
		Source: job.SourceREST, Owner: owner,
		Prompt: req.Prompt, Workflow: req.Workflow, Version: req.Version, Params: req.Params,
		Overrides: overridesOf(req.Overrides), Priority: req.Priority,
		IdempotencyKey: key,
	}
	if req.Webhook != nil {
		sub.Webhook, sub.WebhookEvents = req.Webhook.URL, req.Webhook.Events
	}
	if o := req.Outputs; o != nil {
		sub.OutputOptions = job.OutputOptions{Format: o.Format, Quality: o.Quality, Inline: o.Inline}
	}
	if key != "" {
		var err error
		if sub.RequestHash, err = requestHash(req); err != nil {
			return api.Job{}, false, err
		}
	}
	res, err := g.svc.Submit(ctx, sub)
	if err != nil {
		return api.Job{}, false, err
	}
	return jobView(res.JobStatus), res.Replayed, nil
}

func overridesOf(o map[string]api.NodeOverride) map[string]map[string]any {
	if len(o) == 0 {
		return nil
	}
	out := make(map[string]map[string]any, len(o))
	for id, n := range o {
		out[id] = n.Inputs
	}
	return out
}

// requestHash fingerprints a request for idempotency. encoding/json sorts
// map keys, so equal requests hash equally.
func requestHash(req api.SubmitJobRequest) (string, error) {
	b, err := json.Marshal(req)
	if err != nil {
		return "", badRequest("params", "%s", err.Error())
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}

func (g gatewayService) GetJob(ctx context.Context, owner, id string) (api.Job, error) {
	j, err := g.svc.GetJob(ctx, owner, id)
	return rendered(j, err, jobView)
}

func (g gatewayService) ListJobs(ctx context.Context, owner string, q api.JobQuery) (api.JobList, error) {
	gq := gateway.JobQuery{Workflow: q.Workflow, Cursor: q.Cursor, Limit: q.Limit}
	for _, st := range q.State {
		gq.States = append(gq.States, job.State(st))
	}
	page, err := g.svc.ListJobs(ctx, owner, gq)
	return rendered(page, err, func(p gateway.JobPage) api.JobList {
		return api.JobList{Jobs: each(jobView)(p.Jobs), NextCursor: p.Next}
	})
}

func (g gatewayService) CancelJob(ctx context.Context, owner, id string) (api.Job, error) {
	j, err := g.svc.CancelJob(ctx, owner, id)
	return rendered(j, err, jobView)
}

func (g gatewayService) DeleteJob(ctx context.Context, owner, id string) error {
	return g.svc.DeleteJob(ctx, owner, id)
}

func (g gatewayService) WaitJob(ctx context.Context, owner, id string) (api.Job, error) {
	j, err := g.svc.WaitJob(ctx, owner, id)
	return rendered(j, err, jobView)
}

func (g gatewayService) SubscribeJob(ctx context.Context, owner, jobID, lastEventID string) (Stream, error) {
	sub, err := g.svc.SubscribeJob(ctx, owner, jobID, lastEventID)
	if err != nil {
		return nil, err
	}
	return newWireStream(ctx, g.svc, owner, sub), nil
}

func (g gatewayService) SubscribeOwner(ctx context.Context, owner string) (Stream, error) {
	sub, err := g.svc.SubscribeOwner(ctx, owner)
	if err != nil {
		return nil, err
	}
	return newWireStream(ctx, g.svc, owner, sub), nil
}

func (g gatewayService) PutWorkflow(ctx context.Context, owner, name string, body []byte) (api.Workflow, bool, error) {
	w, changed, err := g.svc.PutWorkflow(ctx, owner, name, body)
	if err != nil {
		return api.Workflow{}, false, err
	}
	return workflowView(w), changed, nil
}

func (g gatewayService) GetWorkflow(ctx context.Context, owner, name string) (api.Workflow, error) {
	w, err := g.svc.GetWorkflow(ctx, owner, name)
	return rendered(w, err, workflowView)
}

func (g gatewayService) ListWorkflows(ctx context.Context, owner string) ([]api.Workflow, error) {
	list, err := g.svc.ListWorkflows(ctx, owner)
	return rendered(list, err, each(workflowView))
}

func (g gatewayService) DeleteWorkflow(ctx context.Context, owner, name string) error {
	return g.svc.DeleteWorkflow(ctx, owner, name)
}

func (g gatewayService) Upload(ctx context.Context, owner string, r io.Reader, filename, contentType string) (api.Upload, error) {
	a, err := g.svc.Upload(ctx, owner, r, filename, contentType)
	return rendered(a, err, uploadView)
}

// OpenArtifact must not turn a nil *gateway.Artifact into a non-nil
// interface.
func (g gatewayService) OpenArtifact(ctx context.Context, owner, id string) (Artifact, error) {
	a, err := g.svc.OpenArtifact(ctx, owner, id)
	if err != nil {
		return nil, err
	}
	return a, nil
}

func (g gatewayService) LinkArtifact(ctx context.Context, owner, id string, expires time.Duration) (api.ArtifactLink, error) {
	l, err := g.svc.LinkArtifact(ctx, owner, id, expires)
	if err != nil {
		return api.ArtifactLink{}, err
	}
	return api.ArtifactLink{URL: l.URL, ExpiresAt: l.Expires}, nil
}

func (g gatewayService) Backends(ctx context.Context) ([]api.Backend, error) {
	list, err := g.svc.Backends(ctx)
	return rendered(list, err, each(backendView))
}

func (g gatewayService) AddBackend(ctx context.Context, req api.AddBackendRequest) (api.Backend, error) {
	b, err := g.svc.AddBackend(ctx, gateway.NewBackend{ID: req.ID, URL: req.URL, MaxInflight: req.MaxInflight, OutputDir: req.OutputDir})
	return rendered(b, err, backendView)
}

func (g gatewayService) RemoveBackend(ctx context.Context, id string) error {
	return g.svc.RemoveBackend(ctx, id)
}

func (g gatewayService) DrainBackend(ctx context.Context, id string) (api.Backend, error) {
	b, err := g.svc.DrainBackend(ctx, id)
	return rendered(b, err, backendView)
}

func (g gatewayService) ResumeBackend(ctx context.Context, id string) (api.Backend, error) {
	b, err := g.svc.ResumeBackend(ctx, id)
	return rendered(b, err, backendView)
}

func (g gatewayService) TestBackend(ctx context.Context, url string) (api.BackendProbe, error) {
	p, err := g.svc.TestBackend(ctx, url)
	return rendered(p, err, probeView)
}

func (g gatewayService) Ready(ctx context.Context) error { return g.svc.Ready(ctx) }
