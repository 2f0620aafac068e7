package api

import (
	"encoding/json"
	"time"
)

// Workflow is a stored ComfyUI graph with named, typed parameters.
type Workflow struct {
	Name        string `json:"name"`
	Version     string `json:"version" description:"Content hash of graph and parameters."`
	Description string `json:"description,omitempty"`
	// Shared is true for a workflow every key reads and runs and only
	// admin keys change (the watched directory, or stored by an admin key
	// or with authentication off); false for one of the caller's own.
	Shared    bool            `json:"shared" description:"True for a shared workflow: every API key reads and runs it, only admin keys change it (stored by an admin key, from the watched workflows/ directory, or with authentication off). False for one of the caller's own, which no other key sees."`
	Graph     json.RawMessage `json:"graph" description:"ComfyUI API-format graph."`
	Params    []Param         `json:"params"`
	Schema    map[string]any  `json:"schema" description:"JSON Schema of the parameters object."`
	CreatedAt time.Time       `json:"created_at"`
	UpdatedAt time.Time       `json:"updated_at"`
	// Warnings are what storing it found worth saying but not refusing;
	// only the answer of PUT carries them.
	Warnings []string `json:"warnings,omitempty" description:"Only in the answer of PUT: what storing the workflow found worth saying but not refusing. The graph could not be checked (no backend has reported its node catalog yet; parameters then lack bounds and choices), a node names a file or model no backend offers (jobs must set another value), or a choice parameter has no choices on any backend (it stays, taking any string)."`
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

// ArtifactLink is a presigned download URL of a stored file: it works
// without an API key, for anyone who holds it, until ExpiresAt.
type ArtifactLink struct {
	URL       string    `json:"url" description:"Downloads the file straight from the artifact store (S3), without credentials."`
	ExpiresAt time.Time `json:"expires_at"`
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
	Graph       json.RawMessage      `json:"graph" required:"true" description:"ComfyUI graph, API or UI format."`
	Params      map[string]ParamSpec `json:"params,omitempty" description:"Parameter spec: a mapping from parameter name (letters, digits and _, not starting with a digit) to its ParamSpec, in the order the form should show them. Detected from the graph when absent. The same mapping, in YAML or JSON, is what a NAME.params.yaml file next to NAME.json in the watched workflows/ directory holds."`
	Description string               `json:"description,omitempty"`
}

// ParamSpec declares one parameter of a stored workflow: the node input it
// sets and the values it takes. What it leaves out (default, bounds, enum,
// description) is filled from the fleet's node catalog (/object_info) when a
// backend is known, and the default from the graph's current value.
type ParamSpec struct {
	Target      string      `json:"target" required:"true" minLength:"3" example:"3.inputs.seed" description:"The node input it sets: \"<node id>.inputs.<input>\" (or \"<node id>.<input>\"). The node must be in the graph."`
	Type        string      `json:"type" required:"true" enum:"string,integer,number,boolean,image" description:"JSON type of its values; image is an input file: an upload id, an artifact id or (with --allow-url-inputs) a URL, staged onto the backend before the job runs."`
	Default     any         `json:"default,omitempty" description:"Value used when a job leaves the parameter out. Default: the graph's current value of the input."`
	Minimum     json.Number `json:"minimum,omitempty" description:"Smallest allowed value (integer and number). Default: the input's min in /object_info."`
	Maximum     json.Number `json:"maximum,omitempty" description:"Largest allowed value (integer and number). Default: the input's max in /object_info."`
	Min         json.Number `json:"min,omitempty" description:"Same as minimum (the spelling of ComfyUI's input specs)."`
	Max         json.Number `json:"max,omitempty" description:"Same as maximum."`
	Step        json.Number `json:"step,omitempty" description:"Granularity shown to forms. Default: the input's step in /object_info."`
	Enum        []any       `json:"enum,omitempty" description:"The allowed values. Default: the choices /object_info lists for the input (checkpoints, samplers, …)."`
	Description string      `json:"description,omitempty" description:"Shown in the schema and the forms. Default: the input's tooltip in /object_info."`
}
