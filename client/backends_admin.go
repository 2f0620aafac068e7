package client

import (
	"context"
	"net/url"

	"github.com/comfygate/comfygate/api"
)

// The request and probe types are the server's own wire types (package
// api); these aliases keep the SDK's names.
type (
	// AddBackendRequest is the body of POST /v1/backends.
	AddBackendRequest = api.AddBackendRequest
	// TestBackendRequest is the body of POST /v1/backends/test.
	TestBackendRequest = api.TestBackendRequest
	// BackendProbe is what the server found when it tried a ComfyUI server.
	BackendProbe = api.BackendProbe
)

// AddBackend adds a ComfyUI server to the fleet at run time. It takes jobs
// once its first health probe and socket succeed.
func (c *Client) AddBackend(ctx context.Context, req AddBackendRequest) (api.Backend, error) {
	var b api.Backend
	_, err := c.call(ctx, "POST", "/v1/backends", nil, nil, req, &b)
	return b, err
}

// RemoveBackend takes a backend out of the fleet: it is drained first, and
// jobs still on it when the server gives up waiting run elsewhere.
func (c *Client) RemoveBackend(ctx context.Context, id string) error {
	_, err := c.call(ctx, "DELETE", "/v1/backends/"+url.PathEscape(id), nil, nil, nil, nil)
	return err
}

// DrainBackend stops giving a backend new jobs; its running jobs finish.
func (c *Client) DrainBackend(ctx context.Context, id string) (api.Backend, error) {
	return c.backendAction(ctx, id, "drain")
}

// ResumeBackend undoes DrainBackend.
func (c *Client) ResumeBackend(ctx context.Context, id string) (api.Backend, error) {
	return c.backendAction(ctx, id, "resume")
}

func (c *Client) backendAction(ctx context.Context, id, action string) (api.Backend, error) {
	var b api.Backend
	_, err := c.call(ctx, "POST", "/v1/backends/"+url.PathEscape(id)+"/"+action, nil, nil, nil, &b)
	return b, err
}

// TestBackend asks the server to try a ComfyUI server without adding it.
// The probe is made from the server, so it tells what the fleet would see.
func (c *Client) TestBackend(ctx context.Context, baseURL string) (BackendProbe, error) {
	var p BackendProbe
	_, err := c.call(ctx, "POST", "/v1/backends/test", nil, nil, TestBackendRequest{URL: baseURL}, &p)
	return p, err
}
