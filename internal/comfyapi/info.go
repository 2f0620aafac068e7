package comfyapi

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/comfygate/comfygate/comfy"
	"github.com/comfygate/comfygate/internal/gateway"
)

// fleetInfo answers the routes that describe the server (/system_stats and
// the model lists) for the whole fleet, merged from the healthy backends
// and kept for a few seconds: clients poll them, and ComfyUI's single
// Python process should not pay for every poll.
type fleetInfo struct {
	h *Handler

	mu    sync.Mutex // guards cache
	cache map[string]cached
}

type cached struct {
	at    time.Time
	value any
	found bool
}

// infoTTL is how long a merged answer is reused.
const infoTTL = 2 * time.Second

func newFleetInfo(h *Handler) *fleetInfo { return &fleetInfo{h: h, cache: map[string]cached{}} }

// get returns the cached value of key or computes it with fetch.
func (fi *fleetInfo) get(ctx context.Context, key string, fetch func(context.Context) (any, bool)) (any, bool) {
	now := fi.h.cfg.Clock()
	fi.mu.Lock()
	c, ok := fi.cache[key]
	fi.mu.Unlock()
	if ok && now.Sub(c.at) < infoTTL {
		return c.value, c.found
	}
	v, found := fetch(ctx)
	fi.mu.Lock()
	if len(fi.cache) > 256 {
		clear(fi.cache) // a bounded cache: folder names come from clients
	}
	fi.cache[key] = cached{at: now, value: v, found: found}
	fi.mu.Unlock()
	return v, found
}

// systemStats merges the backends' /system_stats: versions of the first,
// memory summed, every device listed. argv is never shown (it holds the
// servers' command lines and paths).
func (fi *fleetInfo) systemStats(ctx context.Context) (comfy.SystemStats, bool) {
	v, ok := fi.get(ctx, "system_stats", func(ctx context.Context) (any, bool) {
		var mu sync.Mutex
		var all []comfy.SystemStats
		fi.h.eachBackend(ctx, func(ctx context.Context, _ gateway.Backend, c *comfy.Client) error {
			st, err := c.SystemStats(ctx)
			if err == nil {
				mu.Lock()
				all = append(all, st)
				mu.Unlock()
			}
			return err
		})
		if len(all) == 0 {
			return comfy.SystemStats{}, false
		}
		out := all[0]
		out.System.Argv = []string{}
		out.Devices = slices.Clone(out.Devices)
		for _, st := range all[1:] {
			out.System.RAMTotal += st.System.RAMTotal
			out.System.RAMFree += st.System.RAMFree
			out.Devices = append(out.Devices, st.Devices...)
		}
		return out, true
	})
	st, _ := v.(comfy.SystemStats)
	return st, ok
}

// list merges a list route of every healthy backend, first backend's
// order first; found is false when no backend knows the route (404).
func (fi *fleetInfo) list(ctx context.Context, route string) ([]string, bool) {
	v, ok := fi.get(ctx, "list "+route, func(ctx context.Context) (any, bool) {
		var mu sync.Mutex
		lists := map[string][]string{}
		fi.h.eachBackend(ctx, func(ctx context.Context, b gateway.Backend, c *comfy.Client) error {
			l, err := fi.fetchList(ctx, b, c, route)
			if err == nil {
				mu.Lock()
				lists[b.ID] = l
				mu.Unlock()
			}
			if errors.Is(err, comfy.ErrNotFound) {
				return nil
			}
			return err
		})
		if len(lists) == 0 {
			return []string{}, false
		}
		return unionLists(fi.h.backends(ctx), lists), true
	})
	l, _ := v.([]string)
	return l, ok
}

func (fi *fleetInfo) fetchList(ctx context.Context, b gateway.Backend, c *comfy.Client, route string) ([]string, error) {
	switch {
	case route == "/embeddings":
		return c.Embeddings(ctx)
	case route == "/models":
		return c.Models(ctx)
	case strings.HasPrefix(route, "/models/"):
		return c.ModelFiles(ctx, strings.TrimPrefix(route, "/models/"))
	}
	return fi.extensions(ctx, b)
}

// unionLists joins the lists in backend order without duplicates.
func unionLists(backends []gateway.Backend, lists map[string][]string) []string {
	out := []string{}
	for _, b := range backends {
		for _, s := range lists[b.ID] {
			if !slices.Contains(out, s) {
				out = append(out, s)
			}
		}
	}
	return out
}

// extensions reads GET /extensions, which package comfy has no call for.
func (fi *fleetInfo) extensions(ctx context.Context, b gateway.Backend) ([]string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(b.URL, "/")+"/extensions", nil)
	if err != nil {
		return nil, err
	}
	resp, err := fi.h.cfg.HTTPClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		return nil, comfy.ErrNotFound
	}
	var out []string
	if err := json.NewDecoder(io.LimitReader(resp.Body, 8<<20)).Decode(&out); err != nil {
		return nil, err
	}
	return out, nil
}

func (h *Handler) getSystemStats(c *call) error {
	st, ok := h.info.systemStats(c.r.Context())
	if !ok {
		return errNoBackend
	}
	writeJSON(c.w, http.StatusOK, st)
	return nil
}

func (h *Handler) listRoute(route string) handlerFunc {
	return func(c *call) error {
		r := route
		if route == "/models/" {
			r += c.params["folder"]
		}
		l, ok := h.info.list(c.r.Context(), r)
		if !ok && r != "/embeddings" && r != "/extensions" && r != "/models" {
			return statusOnly(http.StatusNotFound)
		}
		writeJSON(c.w, http.StatusOK, l)
		return nil
	}
}

func (h *Handler) getFeatures(c *call) error {
	writeJSON(c.w, http.StatusOK, map[string]any{
		comfy.FlagSupportsPreviewMetadata: true, comfy.FlagMaxUploadSize: h.cfg.MaxUploadBytes,
	})
	return nil
}
