package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/url"

	"github.com/comfygate/comfygate/api"
)

// PutWorkflow stores a workflow under name. body is what the server takes:
// a bare API-format graph, a UI-format workflow, or an api.WorkflowRequest
// as JSON. created is false when an existing workflow was replaced.
func (c *Client) PutWorkflow(ctx context.Context, name string, body []byte) (wf api.Workflow, created bool, err error) {
	req, err := c.newRequest(ctx, "PUT", "/v1/workflows/"+url.PathEscape(name), nil, bytes.NewReader(body))
	if err != nil {
		return wf, false, err
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := c.send(req)
	if err != nil {
		return wf, false, err
	}
	defer res.Body.Close()
	dec := json.NewDecoder(res.Body)
	dec.UseNumber()
	if err := dec.Decode(&wf); err != nil {
		return wf, false, fmt.Errorf("client: decode workflow: %w", err)
	}
	return wf, res.StatusCode == 201, nil
}

// GetWorkflow returns a stored workflow with its parameter schema.
func (c *Client) GetWorkflow(ctx context.Context, name string) (api.Workflow, error) {
	var wf api.Workflow
	_, err := c.call(ctx, "GET", "/v1/workflows/"+url.PathEscape(name), nil, nil, nil, &wf)
	return wf, err
}

// ListWorkflows returns every stored workflow.
func (c *Client) ListWorkflows(ctx context.Context) ([]api.Workflow, error) {
	var out api.WorkflowList
	if _, err := c.call(ctx, "GET", "/v1/workflows", nil, nil, nil, &out); err != nil {
		return nil, err
	}
	return out.Workflows, nil
}

// DeleteWorkflow removes a stored workflow.
func (c *Client) DeleteWorkflow(ctx context.Context, name string) error {
	_, err := c.call(ctx, "DELETE", "/v1/workflows/"+url.PathEscape(name), nil, nil, nil, nil)
	return err
}
