package api

import (
	"encoding/json"
	"time"
)

// Workflow is a stored ComfyUI graph with named, typed parameters.
type Workflow struct {
	Name        string          `json:"name"`
	Version     string          `json:"version" description:"Content hash of graph and parameters."`
	Description string          `json:"description,omitempty"`
	Graph       json.RawMessage `json:"graph" description:"ComfyUI API-format graph."`
	Params      []Param         `json:"params"`
	Schema      map[string]any  `json:"schema" description:"JSON Schema of the parameters object."`
	CreatedAt   time.Time       `json:"created_at"`
	UpdatedAt   time.Time       `json:"updated_at"`
}

// Param maps a parameter name to one node input.
type Param struct {
	Name        string `json:"name"`
	Target      string `json:"target" description:"node_id.inputs.field"`
	Type        string `json:"type" enum:"string,integer,number,boolean,image"`
	Default     any    `json:"default,omitempty"`
	Minimum     any    `json:"minimum,omitempty"`
	Maximum     any    `json:"maximum,omitempty"`
	Step        any    `json:"step,omitempty"`
	Enum        []any  `json:"enum,omitempty"`
	Description string `json:"description,omitempty"`
}

// WorkflowList is the answer of GET /v1/workflows.
type WorkflowList struct {
	Workflows []Workflow `json:"workflows"`
}

// Upload is a stored input file, usable as an image parameter value.
type Upload struct {
	ID          string `json:"id" description:"Artifact id (sha256); pass it as an image parameter."`
	Filename    string `json:"filename"`
	ContentType string `json:"content_type"`
	Size        int64  `json:"size"`
	URL         string `json:"url"`
}

// JobQuery filters GET /v1/jobs.
type JobQuery struct {
	State    []JobState
	Workflow string
	Cursor   string
	Limit    int
}

// WorkflowRequest is one of the bodies PUT /v1/workflows/{name} accepts. The
// server also takes a bare API-format graph or a UI-format workflow (as
// saved by ComfyUI's editor); parameters are then detected.
type WorkflowRequest struct {
	Graph       json.RawMessage `json:"graph" required:"true" description:"ComfyUI graph, API or UI format."`
	Params      []Param         `json:"params,omitempty" description:"Parameter spec; detected from the graph when absent."`
	Description string          `json:"description,omitempty"`
}
