package bench

import (
	"context"
	"fmt"
	"io"

	"github.com/comfygate/comfygate/api"
	"github.com/comfygate/comfygate/client"
)

// restDriver is a client of comfygate's REST API.
type restDriver struct {
	r *runner
	c *client.Client
}

func newRESTDriver(r *runner) (*restDriver, error) {
	c, err := r.restClient()
	if err != nil {
		return nil, err
	}
	return &restDriver{r: r, c: c}, nil
}

func (r *runner) restClient() (*client.Client, error) {
	c, err := client.New(r.cfg.Server, client.WithAPIKey(r.cfg.Key), client.WithHTTPClient(r.hc))
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	return c, nil
}

func (d *restDriver) close() {}

// job submits, follows the job's events to its end and downloads its
// outputs.
func (d *restDriver) job(ctx context.Context, n int64) error {
	req, err := d.r.request(n)
	if err != nil {
		return err
	}
	j, err := d.c.SubmitJob(ctx, req)
	if err != nil {
		return fmt.Errorf("submit: %w", err)
	}
	if j, err = d.c.WaitJob(ctx, j.ID); err != nil {
		return fmt.Errorf("job %s: %w", j.ID, err)
	}
	if j.State != api.StateSucceeded {
		return fmt.Errorf("job %s %s: %s", j.ID, j.State, jobError(j.Error))
	}
	for _, o := range j.Outputs {
		if o.ArtifactID == "" {
			continue // a text output
		}
		if err := d.download(ctx, o.ArtifactID); err != nil {
			return fmt.Errorf("job %s: output %s: %w", j.ID, o.ArtifactID, err)
		}
	}
	return nil
}

func (d *restDriver) download(ctx context.Context, id string) error {
	dl, err := d.c.DownloadArtifact(ctx, id)
	if err != nil {
		return err
	}
	defer dl.Close()
	_, err = io.Copy(io.Discard, dl)
	return err
}

func jobError(e *api.JobError) string {
	if e == nil {
		return "no reason given"
	}
	return e.Type + ": " + e.Message
}

// request is job n's submission.
func (r *runner) request(n int64) (api.SubmitJobRequest, error) {
	if r.cfg.Workflow != "" {
		req := api.SubmitJobRequest{Workflow: r.cfg.Workflow}
		if r.seedParam {
			req.Params = map[string]any{"seed": n}
		}
		return req, nil
	}
	g, err := r.graph(n)
	return api.SubmitJobRequest{Prompt: g}, err
}

// prepareWorkflow checks the workflow exists and whether it has a seed.
func (r *runner) prepareWorkflow(ctx context.Context) error {
	c, err := r.restClient()
	if err != nil {
		return err
	}
	wf, err := c.GetWorkflow(ctx, r.cfg.Workflow)
	if err != nil {
		return fmt.Errorf("bench: workflow %s: %w", r.cfg.Workflow, err)
	}
	for _, p := range wf.Params {
		if p.Name == "seed" {
			r.seedParam = true
		}
	}
	if !r.seedParam {
		r.cfg.Warn("workflow " + r.cfg.Workflow + " has no seed parameter to vary: ComfyUI answers repeated prompts from its cache, which skews the numbers")
	}
	return nil
}
