package api

// AddBackendRequest is the body of POST /v1/backends.
type AddBackendRequest struct {
	// ID names the backend; the server picks one when empty.
	ID string `json:"id,omitempty" pattern:"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$" description:"Backend id; chosen by the server (backend-N) when empty."`
	// URL is the ComfyUI base URL, e.g. http://10.0.0.7:8188.
	URL string `json:"url" required:"true" maxLength:"2048" example:"http://10.0.0.7:8188" description:"ComfyUI base URL: http(s)://host[:port][/prefix]."`
	// MaxInflight is how many prompts it may hold at once; 0 means the
	// server's default.
	MaxInflight int `json:"max_inflight,omitempty" minimum:"0" maximum:"64" description:"Prompts it may hold at once (one running plus prefetched); 0 means the server's default (2)."`
	// OutputDir is ComfyUI's output directory as the gateway sees it, for
	// a backend on the gateway's host.
	OutputDir string `json:"output_dir,omitempty" maxLength:"4096" example:"/srv/comfyui/output" description:"For a ComfyUI on the gateway's host: its output directory (an absolute path to an existing directory). Outputs are then read from there instead of downloaded, and the folders comfygate has them saved in are removed once the files are stored."`
}

// TestBackendRequest is the body of POST /v1/backends/test.
type TestBackendRequest struct {
	URL string `json:"url" required:"true" maxLength:"2048" example:"http://10.0.0.7:8188" description:"ComfyUI base URL to try."`
}

// BackendProbe is what the server found when it tried a ComfyUI server
// before adding it: reachability, version, devices and catalog size. It is
// only sent when the server answered; an unreachable one is an error (502).
type BackendProbe struct {
	URL       string   `json:"url"`
	LatencyMS float64  `json:"latency_ms" description:"Round trip of GET /system_stats."`
	Version   string   `json:"version,omitempty" description:"ComfyUI version it reports."`
	Devices   []Device `json:"devices,omitempty"`
	VRAMTotal int64    `json:"vram_total" description:"Sum over its devices, in bytes."`
	VRAMFree  int64    `json:"vram_free" description:"Sum over its devices, in bytes."`
	NodeCount int      `json:"node_count" description:"Node classes in its /object_info."`
}
