package comfy

import "encoding/json"

// SystemStats is the body of GET /system_stats.
type SystemStats struct {
	System  SystemInfo `json:"system"`
	Devices []Device   `json:"devices"`
}

// SystemInfo is the "system" part of SystemStats. Memory values are bytes.
// Argv exposes the server's command line; gateways should not pass it on.
type SystemInfo struct {
	OS                        string   `json:"os"`
	RAMTotal                  int64    `json:"ram_total"`
	RAMFree                   int64    `json:"ram_free"`
	ComfyUIVersion            string   `json:"comfyui_version"`
	RequiredFrontendVersion   string   `json:"required_frontend_version,omitempty"`
	InstalledTemplatesVersion *string  `json:"installed_templates_version"`
	RequiredTemplatesVersion  *string  `json:"required_templates_version"`
	PythonVersion             string   `json:"python_version"`
	PytorchVersion            string   `json:"pytorch_version"`
	EmbeddedPython            bool     `json:"embedded_python"`
	Argv                      []string `json:"argv"`
	// Extra holds keys of newer servers (comfy_package_versions, ...).
	Extra map[string]json.RawMessage `json:"-"`
}

// UnmarshalJSON decodes the known fields and keeps the rest in Extra.
func (s *SystemInfo) UnmarshalJSON(data []byte) error {
	type plain SystemInfo
	var p plain
	if err := unmarshalWithExtra(data, &p, &p.Extra); err != nil {
		return err
	}
	*s = SystemInfo(p)
	return nil
}

// MarshalJSON writes the known fields, then Extra.
func (s SystemInfo) MarshalJSON() ([]byte, error) {
	type plain SystemInfo
	p := plain(s)
	p.Argv = orEmptySlice(p.Argv)
	return marshalWithExtra(p, s.Extra)
}

// Device is one torch device of SystemStats. Index is null on CPU.
type Device struct {
	Name           string `json:"name"`
	Type           string `json:"type"`
	Index          *int   `json:"index"`
	VRAMTotal      int64  `json:"vram_total"`
	VRAMFree       int64  `json:"vram_free"`
	TorchVRAMTotal int64  `json:"torch_vram_total"`
	TorchVRAMFree  int64  `json:"torch_vram_free"`
}

// UploadResult is the 200 body of POST /upload/image and /upload/mask. Name is
// the name actually stored (it may be "name (1).png"); Subfolder is echoed as
// sent.
type UploadResult struct {
	Name      string `json:"name"`
	Subfolder string `json:"subfolder"`
	Type      string `json:"type"`
	// Asset is sent by newer servers with the asset system on.
	Asset json.RawMessage `json:"asset,omitempty"`
}

// LoadImageValue is the value to give LoadImage's "image" input for the file.
func (u UploadResult) LoadImageValue() string {
	if u.Subfolder == "" {
		return u.Name
	}
	return u.Subfolder + "/" + u.Name
}

// Job statuses of the /api/jobs routes.
const (
	JobPending    = "pending"
	JobInProgress = "in_progress"
	JobCompleted  = "completed"
	JobFailed     = "failed"
	JobCancelled  = "cancelled"
)

// Job is one job of the /api/jobs routes of newer servers. Absent values are
// pruned by the server, hence the pointers and omitempty.
type Job struct {
	ID                      string          `json:"id"`
	Status                  string          `json:"status"`
	Priority                json.Number     `json:"priority,omitempty"`
	CreateTime              *int64          `json:"create_time,omitempty"`
	ExecutionStartTime      *int64          `json:"execution_start_time,omitempty"`
	ExecutionEndTime        *int64          `json:"execution_end_time,omitempty"`
	ExecutionError          json.RawMessage `json:"execution_error,omitempty"`
	OutputsCount            int             `json:"outputs_count"`
	PreviewableOutputsCount int             `json:"previewable_outputs_count"`
	PreviewOutput           json.RawMessage `json:"preview_output,omitempty"`
	WorkflowID              *string         `json:"workflow_id,omitempty"`
	// Outputs, ExecutionStatus and Workflow are present on single-job lookups.
	Outputs         json.RawMessage `json:"outputs,omitempty"`
	ExecutionStatus json.RawMessage `json:"execution_status,omitempty"`
	Workflow        json.RawMessage `json:"workflow,omitempty"`
}

// JobList is the body of GET /api/jobs.
type JobList struct {
	Jobs       []Job      `json:"jobs"`
	Pagination Pagination `json:"pagination"`
}

// Pagination is the "pagination" of JobList.
type Pagination struct {
	Offset  int  `json:"offset"`
	Limit   *int `json:"limit"`
	Total   int  `json:"total"`
	HasMore bool `json:"has_more"`
}

// JobQuery filters GET /api/jobs. Zero values are left out of the query.
type JobQuery struct {
	Statuses   []string // JobPending, ...
	WorkflowID string
	SortBy     string // "created_at" or "execution_duration"
	SortOrder  string // "asc" or "desc"
	Limit      int
	Offset     int
}

// CancelResult is the body of POST /api/jobs/{id}/cancel and /api/jobs/cancel.
type CancelResult struct {
	Cancelled bool `json:"cancelled"`
}
