package comfy

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// SystemStats returns versions, RAM and devices (GET /system_stats).
func (c *Client) SystemStats(ctx context.Context) (SystemStats, error) {
	var out SystemStats
	err := c.callJSON(ctx, request{method: http.MethodGet, route: "/system_stats"}, &out)
	return out, err
}

// ObjectInfo returns every node definition in server order (GET
// /object_info). The answer is large and rebuilt by the server on each call;
// cache it.
func (c *Client) ObjectInfo(ctx context.Context) (ObjectInfo, error) {
	var out ObjectInfo
	err := c.callJSON(ctx, request{method: http.MethodGet, route: "/object_info", maxBody: c.maxLargeBody}, &out)
	return out, err
}

// NodeInfo returns one node definition (GET /object_info/{class}). An unknown
// class, which the server answers with {}, is ErrNotFound.
func (c *Client) NodeInfo(ctx context.Context, class string) (NodeDef, error) {
	if class == "" {
		return NodeDef{}, fmt.Errorf("node info: empty class")
	}
	var out ObjectInfo
	r := request{method: http.MethodGet, route: "/object_info/" + url.PathEscape(class)}
	if err := c.callJSON(ctx, r, &out); err != nil {
		return NodeDef{}, err
	}
	def, ok := out.Get(class)
	if !ok {
		return NodeDef{}, fmt.Errorf("node class %s: %w", class, ErrNotFound)
	}
	return def, nil
}

// Embeddings returns embedding names without extension (GET /embeddings).
func (c *Client) Embeddings(ctx context.Context) ([]string, error) {
	return c.strings(ctx, "/embeddings")
}

// Models returns the model folder keys (GET /models).
func (c *Client) Models(ctx context.Context) ([]string, error) {
	return c.strings(ctx, "/models")
}

// ModelFiles returns the files of one model folder, relative to it and with
// the server's path separator (GET /models/{folder}). An unknown folder is an
// *HTTPError matching ErrNotFound.
func (c *Client) ModelFiles(ctx context.Context, folder string) ([]string, error) {
	if folder == "" {
		return nil, fmt.Errorf("model files: empty folder")
	}
	return c.strings(ctx, "/models/"+url.PathEscape(folder))
}

func (c *Client) strings(ctx context.Context, route string) ([]string, error) {
	var out []string
	if err := c.callJSON(ctx, request{method: http.MethodGet, route: route}, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// Features returns the server's feature flags (GET /features).
func (c *Client) Features(ctx context.Context) (FeatureFlags, error) {
	var out FeatureFlags
	err := c.callJSON(ctx, request{method: http.MethodGet, route: "/features"}, &out)
	return out, err
}

// Jobs lists jobs (GET /api/jobs, newer servers only). Servers without the
// jobs API give ErrNotSupported.
func (c *Client) Jobs(ctx context.Context, q JobQuery) (JobList, error) {
	v := url.Values{}
	if len(q.Statuses) > 0 {
		v.Set("status", strings.Join(q.Statuses, ","))
	}
	setIf(v, "workflow_id", q.WorkflowID)
	setIf(v, "sort_by", q.SortBy)
	setIf(v, "sort_order", q.SortOrder)
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	if q.Offset > 0 {
		v.Set("offset", strconv.Itoa(q.Offset))
	}
	var out JobList
	err := c.callJSON(ctx, request{method: http.MethodGet, route: "/api/jobs", query: v}, &out)
	return out, jobsError(err)
}

func setIf(v url.Values, key, value string) {
	if value != "" {
		v.Set(key, value)
	}
}

// Job returns one job with its outputs and workflow (GET /api/jobs/{id}). An
// unknown id is ErrNotFound; a server without the jobs API gives
// ErrNotSupported.
func (c *Client) Job(ctx context.Context, id string) (Job, error) {
	if id == "" {
		return Job{}, fmt.Errorf("job: empty id")
	}
	var out Job
	err := c.callJSON(ctx, request{method: http.MethodGet, route: "/api/jobs/" + url.PathEscape(id)}, &out)
	return out, jobsError(err)
}

// CancelJob interrupts the job if it runs or dequeues it if pending (POST
// /api/jobs/{id}/cancel). It reports whether anything was cancelled.
func (c *Client) CancelJob(ctx context.Context, id string) (bool, error) {
	if id == "" {
		return false, fmt.Errorf("cancel job: empty id")
	}
	var out CancelResult
	r := request{method: http.MethodPost, route: "/api/jobs/" + url.PathEscape(id) + "/cancel"}
	err := c.callJSON(ctx, r, &out)
	return out.Cancelled, jobsError(err)
}

// CancelJobs cancels several jobs (POST /api/jobs/cancel).
func (c *Client) CancelJobs(ctx context.Context, ids ...string) (bool, error) {
	body, err := jsonBody(struct {
		JobIDs []string `json:"job_ids"`
	}{orEmptySlice(ids)})
	if err != nil {
		return false, fmt.Errorf("cancel jobs: %w", err)
	}
	var out CancelResult
	r := request{method: http.MethodPost, route: "/api/jobs/cancel", body: body, ctype: "application/json"}
	err = c.callJSON(ctx, r, &out)
	return out.Cancelled, jobsError(err)
}

// jobsError tells "no such job" (404 with a JSON error) apart from "no jobs
// API" (aiohttp's plain-text 404 of an unknown route).
func jobsError(err error) error {
	he, ok := isHTTPStatus(err, http.StatusNotFound)
	if !ok {
		return err
	}
	if jsonKind([]byte(he.Body)) == "object" {
		return err // matches ErrNotFound via HTTPError.Is
	}
	return fmt.Errorf("%s %s: status 404: %w", he.Method, he.Path, ErrNotSupported)
}
