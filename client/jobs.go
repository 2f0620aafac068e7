package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/comfygate/comfygate/api"
)

// SubmitOption tunes SubmitJob and RunWorkflow.
type SubmitOption func(*submitOptions)

type submitOptions struct {
	key  string
	wait time.Duration
}

// IdempotencyKey makes a retried submit safe: the server answers a repeat
// of the same key and body with the job it created the first time.
func IdempotencyKey(key string) SubmitOption { return func(o *submitOptions) { o.key = key } }

// Wait asks the server to hold its answer until the job ends, at most d
// (the server's limit is 10 minutes by default). The job comes back as it
// stands when d ran out.
func Wait(d time.Duration) SubmitOption { return func(o *submitOptions) { o.wait = d } }

// SubmitJob creates a job; it is stored durably when this returns.
func (c *Client) SubmitJob(ctx context.Context, req api.SubmitJobRequest, opts ...SubmitOption) (api.Job, error) {
	return c.submit(ctx, "/v1/jobs", req, opts)
}

// RunWorkflow runs the stored workflow name (POST
// /v1/workflows/{name}/jobs): SubmitJob for that workflow, with the same
// options and answers. The zero req runs it with every parameter at its
// default.
func (c *Client) RunWorkflow(ctx context.Context, name string, req api.RunWorkflowRequest, opts ...SubmitOption) (api.Job, error) {
	return c.submit(ctx, "/v1/workflows/"+url.PathEscape(name)+"/jobs", req, opts)
}

func (c *Client) submit(ctx context.Context, path string, body any, opts []SubmitOption) (api.Job, error) {
	var o submitOptions
	for _, opt := range opts {
		opt(&o)
	}
	q := url.Values{}
	if o.wait > 0 {
		q.Set("wait", o.wait.String())
	}
	hdr := http.Header{}
	if o.key != "" {
		hdr.Set("Idempotency-Key", o.key)
	}
	var job api.Job
	_, err := c.call(ctx, "POST", path, q, hdr, body, &job)
	return job, err
}

// GetJob returns a job as it stands.
func (c *Client) GetJob(ctx context.Context, id string) (api.Job, error) {
	var job api.Job
	_, err := c.call(ctx, "GET", "/v1/jobs/"+url.PathEscape(id), nil, nil, nil, &job)
	return job, err
}

// CancelJob asks for a job to stop; the answer is the job after the request.
func (c *Client) CancelJob(ctx context.Context, id string) (api.Job, error) {
	var job api.Job
	_, err := c.call(ctx, "POST", "/v1/jobs/"+url.PathEscape(id)+"/cancel", nil, nil, nil, &job)
	return job, err
}

// DeleteJob removes a finished job, its events and the files only it
// used. A job that has not ended is refused (a *Error with status 409 and
// code "job_not_finished"): cancel it and wait for it first. Another key's
// job is not found.
func (c *Client) DeleteJob(ctx context.Context, id string) error {
	_, err := c.call(ctx, "DELETE", "/v1/jobs/"+url.PathEscape(id), nil, nil, nil, nil)
	return err
}

// ListJobs returns one page of the caller's jobs; pass the page's
// NextCursor as q.Cursor for the next one, or use Jobs.
func (c *Client) ListJobs(ctx context.Context, q api.JobQuery) (api.JobList, error) {
	v := url.Values{}
	for _, s := range q.State {
		v.Add("state", string(s))
	}
	if q.Workflow != "" {
		v.Set("workflow", q.Workflow)
	}
	if q.Cursor != "" {
		v.Set("cursor", q.Cursor)
	}
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	var out api.JobList
	_, err := c.call(ctx, "GET", "/v1/jobs", v, nil, nil, &out)
	return out, err
}

// Jobs iterates over every job matching q, page by page. It stops at the
// first error, which it yields.
func (c *Client) Jobs(ctx context.Context, q api.JobQuery) iter.Seq2[api.Job, error] {
	return func(yield func(api.Job, error) bool) {
		for {
			page, err := c.ListJobs(ctx, q)
			if err != nil {
				yield(api.Job{}, err)
				return
			}
			for _, j := range page.Jobs {
				if !yield(j, nil) {
					return
				}
			}
			if page.NextCursor == "" || page.NextCursor == q.Cursor {
				return
			}
			q.Cursor = page.NextCursor
		}
	}
}

// WaitJob follows the job's events until it ends and returns it as it
// ended. Long jobs are fine: the stream has no timeout and resumes after
// dropped connections; bound the wait with ctx.
func (c *Client) WaitJob(ctx context.Context, id string) (api.Job, error) {
	st, err := c.Events(ctx, id)
	if err != nil {
		return api.Job{}, err
	}
	defer st.Close()
	for {
		ev, err := st.Next(ctx)
		if errors.Is(err, io.EOF) {
			return c.GetJob(ctx, id) // ended without a terminal event
		}
		if err != nil {
			return api.Job{}, err
		}
		if api.TerminalEvent(ev.Type) {
			var job api.Job
			if json.Unmarshal(ev.Data, &job) == nil && job.ID != "" {
				return job, nil
			}
			return c.GetJob(ctx, id)
		}
	}
}

// errBadEvent wraps an event the SDK could not decode.
var errBadEvent = errors.New("client: malformed event")

func badEvent(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{errBadEvent}, args...)...)
}

// Deliveries lists a job's webhook messages with every attempt at them.
func (c *Client) Deliveries(ctx context.Context, id string) (api.DeliveryList, error) {
	var d api.DeliveryList
	_, err := c.call(ctx, "GET", "/v1/jobs/"+url.PathEscape(id)+"/deliveries", nil, nil, nil, &d)
	return d, err
}

// Redeliver sends a job's webhook message again with the same webhook-id:
// messageID, or the job's latest message when it is "". The answer is the
// job's deliveries after the request.
func (c *Client) Redeliver(ctx context.Context, id, messageID string) (api.DeliveryList, error) {
	var d api.DeliveryList
	_, err := c.call(ctx, "POST", "/v1/jobs/"+url.PathEscape(id)+"/deliveries/redeliver", nil, nil,
		api.RedeliverRequest{MessageID: messageID}, &d)
	return d, err
}

// WebhookSecret returns the secret that signs webhooks (admin keys only).
func (c *Client) WebhookSecret(ctx context.Context) (api.WebhookSecret, error) {
	var s api.WebhookSecret
	_, err := c.call(ctx, "GET", "/v1/webhooks/secret", nil, nil, nil, &s)
	return s, err
}
