package comfy

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
)

// QueuePrompt submits a prompt (POST /prompt). A 200 answer is returned as is;
// check resp.PartiallyValid() for outputs dropped by validation. A rejection
// with a JSON body is a *PromptError; other failures (such as ComfyUI's
// plain-text 500 for malformed bodies) are *HTTPError.
func (c *Client) QueuePrompt(ctx context.Context, p PromptRequest) (PromptResponse, error) {
	if len(p.Prompt) == 0 {
		return PromptResponse{}, fmt.Errorf("queue prompt: field prompt is empty")
	}
	body, err := jsonBody(p)
	if err != nil {
		return PromptResponse{}, fmt.Errorf("queue prompt: %w", err)
	}
	r := request{method: http.MethodPost, route: "/prompt", body: body, ctype: "application/json"}
	resp, err := c.send(ctx, r)
	if err != nil {
		return PromptResponse{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return PromptResponse{}, promptError(r, resp, c.maxBody)
	}
	data, err := readLimited(resp.Body, c.maxBody)
	if err != nil {
		return PromptResponse{}, fmt.Errorf("POST /prompt: %w", err)
	}
	var out PromptResponse
	if err := decodeUseNumber(data, &out); err != nil {
		return PromptResponse{}, fmt.Errorf("POST /prompt: decode response: %w: %v", ErrMalformed, err)
	}
	return out, nil
}

// promptError turns a non-200 POST /prompt answer into *PromptError when the
// body is ComfyUI's {error, node_errors} object, else *HTTPError.
func promptError(r request, resp *http.Response, limit int64) error {
	data, err := io.ReadAll(io.LimitReader(resp.Body, limit))
	if err != nil {
		return &HTTPError{Method: r.method, Path: r.route, Status: resp.StatusCode}
	}
	if jsonKind(data) == "object" {
		var b PromptErrorBody
		if decodeUseNumber(data, &b) == nil && (b.Error.Type != "" || b.Error.Message != "" || b.NodeErrors != nil) {
			return &PromptError{Status: resp.StatusCode, Info: b.Error, NodeErrors: b.NodeErrors}
		}
	}
	if len(data) > maxErrorBodySize {
		data = data[:maxErrorBodySize]
	}
	return &HTTPError{Method: r.method, Path: r.route, Status: resp.StatusCode, Body: string(data)}
}

// PromptInfo returns the queue counter (GET /prompt).
func (c *Client) PromptInfo(ctx context.Context) (PromptInfo, error) {
	var out PromptInfo
	err := c.callJSON(ctx, request{method: http.MethodGet, route: "/prompt"}, &out)
	return out, err
}

// Queue returns the running and pending prompts (GET /queue), with Pending
// sorted into run order (the server sends its heap order).
func (c *Client) Queue(ctx context.Context) (QueueStatus, error) {
	var out QueueStatus
	if err := c.callJSON(ctx, request{method: http.MethodGet, route: "/queue"}, &out); err != nil {
		return QueueStatus{}, err
	}
	SortRunOrder(out.Pending)
	return out, nil
}

// ModifyQueue clears and/or deletes pending prompts (POST /queue). Unknown
// ids and the running prompt are silently ignored by the server.
func (c *Client) ModifyQueue(ctx context.Context, q QueueRequest) error {
	return c.post(ctx, "/queue", q)
}

// ClearQueue removes every pending prompt.
func (c *Client) ClearQueue(ctx context.Context) error {
	return c.ModifyQueue(ctx, QueueRequest{Clear: true})
}

// DeleteQueued removes the given pending prompts. They get no events and no
// history entry.
func (c *Client) DeleteQueued(ctx context.Context, promptIDs ...string) error {
	return c.ModifyQueue(ctx, QueueRequest{Delete: promptIDs})
}

// Interrupt interrupts whatever prompt is running (POST /interrupt {}).
func (c *Client) Interrupt(ctx context.Context) error {
	return c.post(ctx, "/interrupt", InterruptRequest{})
}

// InterruptPrompt interrupts promptID only if it is the running prompt.
// Servers older than 2025-09 ignore the id and interrupt globally.
func (c *Client) InterruptPrompt(ctx context.Context, promptID string) error {
	if promptID == "" {
		return fmt.Errorf("interrupt prompt: empty prompt id")
	}
	return c.post(ctx, "/interrupt", InterruptRequest{PromptID: promptID})
}

// Free asks the server to unload models and/or drop its cache (POST /free).
// The worker acts on it after the current prompt.
func (c *Client) Free(ctx context.Context, f FreeRequest) error {
	return c.post(ctx, "/free", f)
}

// post sends a JSON body to a route that answers with an empty 200.
func (c *Client) post(ctx context.Context, route string, v any) error {
	body, err := jsonBody(v)
	if err != nil {
		return fmt.Errorf("POST %s: %w", route, err)
	}
	_, err = c.call(ctx, request{method: http.MethodPost, route: route, body: body, ctype: "application/json"})
	return err
}

// HistoryQuery selects entries of GET /history. The zero value asks for all.
type HistoryQuery struct {
	// MaxItems > 0 limits the number of entries. Without Offset these are the
	// newest ones.
	MaxItems int
	// Offset, when set, skips that many of the oldest entries.
	Offset *int
}

// History returns history entries oldest first (GET /history).
func (c *Client) History(ctx context.Context, q HistoryQuery) (History, error) {
	v := url.Values{}
	if q.MaxItems > 0 {
		v.Set("max_items", strconv.Itoa(q.MaxItems))
	}
	if q.Offset != nil {
		v.Set("offset", strconv.Itoa(*q.Offset))
	}
	r := request{method: http.MethodGet, route: "/history", query: v}
	if q.MaxItems <= 0 {
		r.maxBody = c.maxLargeBody
	}
	var out History
	if err := c.callJSON(ctx, r, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// PromptHistory returns the history entry of one prompt (GET
// /history/{id}). The server answers {} while the prompt is queued or running,
// after it was deleted, or when the id is unknown: that is ErrNotFound.
func (c *Client) PromptHistory(ctx context.Context, promptID string) (HistoryEntry, error) {
	if promptID == "" {
		return HistoryEntry{}, fmt.Errorf("prompt history: empty prompt id")
	}
	var out History
	r := request{method: http.MethodGet, route: "/history/" + url.PathEscape(promptID)}
	if err := c.callJSON(ctx, r, &out); err != nil {
		return HistoryEntry{}, err
	}
	e, ok := out.Get(promptID)
	if !ok {
		return HistoryEntry{}, fmt.Errorf("history of prompt %s: %w", promptID, ErrNotFound)
	}
	return e, nil
}

// ModifyHistory clears and/or deletes history entries (POST /history).
func (c *Client) ModifyHistory(ctx context.Context, h HistoryRequest) error {
	return c.post(ctx, "/history", h)
}

// ClearHistory deletes every history entry.
func (c *Client) ClearHistory(ctx context.Context) error {
	return c.ModifyHistory(ctx, HistoryRequest{Clear: true})
}

// DeleteHistory deletes the given entries.
func (c *Client) DeleteHistory(ctx context.Context, promptIDs ...string) error {
	return c.ModifyHistory(ctx, HistoryRequest{Delete: promptIDs})
}
