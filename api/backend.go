package api

import "time"

// Backend is one ComfyUI server of the fleet.
type Backend struct {
	ID        string              `json:"id"`
	URL       string              `json:"url"`
	State     string              `json:"state" enum:"unknown,healthy,degraded,down,draining" description:"unknown until its first health probe, e.g. just after it was added."`
	Running   []string            `json:"running"`
	Prefetch  []string            `json:"prefetched"`
	Done      int64               `json:"jobs_done"`
	Failed    int64               `json:"jobs_failed"`
	LatencyMS float64             `json:"latency_ms,omitempty" description:"Smoothed round trip of its requests; absent while it is down or not probed yet."`
	Version   string              `json:"version,omitempty"`
	Devices   []Device            `json:"devices,omitempty"`
	NodeCount int                 `json:"node_count"`
	Models    map[string][]string `json:"models,omitempty"`
	LastError string              `json:"last_error,omitempty" description:"The most recent failure (health probe, socket, submit): which check failed and why. Kept after the backend recovers; see last_error_at."`
	// LastErrorAt is when LastError happened.
	LastErrorAt *time.Time `json:"last_error_at,omitempty" description:"When last_error happened."`
}

// Device is one compute device of a backend.
type Device struct {
	Name      string `json:"name"`
	Type      string `json:"type"`
	VRAMTotal int64  `json:"vram_total"`
	VRAMFree  int64  `json:"vram_free"`
}

// BackendList is the answer of GET /v1/backends.
type BackendList struct {
	Backends []Backend `json:"backends"`
}
