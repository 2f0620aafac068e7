package httpapi

import (
	"mime/multipart"
	"net/http"
	"strings"

	"github.com/comfygate/comfygate/api"
)

// operation describes one route for the OpenAPI document. The table below
// is checked against the router by a test, so a route cannot go
// undocumented.
type operation struct {
	method, path, id, summary, description string
	tag                                    string
	params                                 any // struct with path/query/header tags
	body                                   any // JSON request body
	bodyTypes                              []string
	responses                              []docResponse
	errors                                 []int
	open                                   bool // no API key needed
}

type docResponse struct {
	status      int
	body        any
	contentType string
	description string
}

// Parameter structs: only their tags matter.
type (
	nameParam struct {
		Name string `path:"name" pattern:"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$"`
	}
	idParam struct {
		ID string `path:"id" maxLength:"256"`
	}
	waitParam struct {
		Wait string `query:"wait" example:"30s" description:"Hold the answer until the job ends, at most this long (a Go duration or seconds; at most 10m)."`
	}
	getJobParams struct {
		idParam
		waitParam
	}
	submitParams struct {
		waitParam
		IdempotencyKey string `header:"Idempotency-Key" maxLength:"255" description:"Repeat a request safely: the same key and body return the original job (with Idempotent-Replayed: true)."`
	}
	runWorkflowParams struct {
		nameParam
		submitParams
	}
	listJobsParams struct {
		State    []api.JobState `query:"state" description:"Filter by state; repeat or comma-separate."`
		Workflow string         `query:"workflow"`
		Cursor   string         `query:"cursor" description:"next_cursor of the previous page."`
		Limit    int            `query:"limit" minimum:"1" maximum:"1000" default:"50"`
	}
	streamParams struct {
		idParam
		LastEventID  string `header:"Last-Event-ID" example:"12" description:"Resume after this event id (what the last event's id: line said)."`
		LastEventIDQ string `query:"last_event_id" example:"12" description:"Same as the Last-Event-ID header, for clients that cannot set headers."`
	}
	wsParams struct {
		idParam
		LastEventIDQ string `query:"last_event_id" example:"12" description:"Resume after this event id."`
	}
	linkParams struct {
		idParam
		Expires string `query:"expires" example:"1h" description:"How long the URL works: a Go duration or seconds, 1s to 168h (7 days). Default 15m."`
	}
	uploadParams struct {
		Filename string `query:"filename" description:"File name, when the body is the raw file."`
	}
	uploadForm struct {
		File multipart.File `formData:"file" description:"The file."`
	}
)

func operations() []operation {
	jobErrs := []int{400, 401, 404, 429, 503}
	return append([]operation{
		{method: "PUT", path: "/v1/workflows/{name}", id: "putWorkflow", tag: "workflows", summary: "Store a workflow",
			description: "Body: a bare API-format graph, a UI-format workflow (converted with the fleet's node catalog), or a WorkflowRequest {graph, params, description} whose params map names to ParamSpec. Parameters are detected when no spec is given (nodes titled \"$name\" or \"$name.input\", or renamed, expose their widget inputs); what a spec leaves out is filled from the graph and the node catalog. When a backend has reported its node catalog the graph is validated as ComfyUI would: a node type no backend has, a missing input or a value out of range is refused (400 naming the node and input); a file or model no backend offers is stored with a warning. The answer's warnings say what was not checked or may fail later." + workflowOwnerNote,
			params:      new(nameParam), body: new(api.WorkflowRequest),
			responses: []docResponse{{status: 201, body: new(api.Workflow), description: "Created."}, {status: 200, body: new(api.Workflow), description: "Replaced."}},
			errors:    []int{400, 401, 409, 413, 422, 429}},
		{method: "GET", path: "/v1/workflows", id: "listWorkflows", tag: "workflows", summary: "List workflows",
			description: "The shared workflows and the key's own (which hide a shared one of the same name).",
			responses:   []docResponse{{status: 200, body: new(api.WorkflowList)}}, errors: []int{401, 429}},
		{method: "GET", path: "/v1/workflows/{name}", id: "getWorkflow", tag: "workflows", summary: "Get a workflow and its parameter schema",
			description: "The key's own workflow of that name, else the shared one; another key's own is not found.",
			params:      new(nameParam), responses: []docResponse{{status: 200, body: new(api.Workflow)}}, errors: []int{400, 401, 404}},
		{method: "DELETE", path: "/v1/workflows/{name}", id: "deleteWorkflow", tag: "workflows", summary: "Delete a workflow",
			description: "A key deletes its own workflows; only admin keys delete shared ones (403 for others).",
			params:      new(nameParam), responses: []docResponse{{status: 204, description: "Deleted."}}, errors: []int{400, 401, 403, 404}},
		{method: "POST", path: "/v1/jobs", id: "submitJob", tag: "jobs", summary: "Submit a job",
			description: "The job is stored durably before the answer. 201 with Location; with ?wait= the answer waits for the end of the job: 201 if it ended in time, 202 with the job as it stands if not. A replayed Idempotency-Key gets the same status rules, the job as it stands and Idempotent-Replayed: true. See the examples for each stored workflow; their parameter schemas are components WorkflowParams_<name>, and POST /v1/workflows/<name>/jobs takes them as a typed body.",
			params:      new(submitParams), body: new(api.SubmitJobRequest),
			responses: []docResponse{{status: 201, body: new(api.Job), description: "Created (and finished, if ?wait= was given)."},
				{status: 202, body: new(api.Job), description: "Created; still running when ?wait= ran out."}},
			errors: []int{400, 401, 409, 413, 422, 429, 503}},
		{method: "POST", path: "/v1/workflows/{name}/jobs", id: "runWorkflow", tag: "jobs", summary: "Run a stored workflow",
			description: "POST /v1/jobs for the workflow the path names, with the same answers. Each stored workflow also has its own operation here, POST /v1/workflows/<name>/jobs, whose body schema (RunWorkflow_<name>) carries its parameters.",
			params:      new(runWorkflowParams), body: new(api.RunWorkflowRequest),
			responses: []docResponse{{status: 201, body: new(api.Job), description: "Created (and finished, if ?wait= was given)."},
				{status: 202, body: new(api.Job), description: "Created; still running when ?wait= ran out."}},
			errors: []int{400, 401, 404, 409, 413, 422, 429, 503}},
		{method: "GET", path: "/v1/jobs", id: "listJobs", tag: "jobs", summary: "List the caller's jobs, newest first",
			params: new(listJobsParams), responses: []docResponse{{status: 200, body: new(api.JobList)}}, errors: []int{400, 401, 429}},
		{method: "GET", path: "/v1/jobs/{id}", id: "getJob", tag: "jobs", summary: "Get a job (optionally waiting for its end)",
			params: new(getJobParams), responses: []docResponse{{status: 200, body: new(api.Job)}}, errors: jobErrs},
		{method: "POST", path: "/v1/jobs/{id}/cancel", id: "cancelJob", tag: "jobs", summary: "Cancel a job",
			params: new(idParam), responses: []docResponse{{status: 200, body: new(api.Job)}}, errors: []int{400, 401, 404, 409, 429}},
		{method: "DELETE", path: "/v1/jobs/{id}", id: "deleteJob", tag: "jobs", summary: "Delete a finished job and the files only it used",
			description: "Removes the job, its events and its artifact records for good. Its output and input files are removed from the artifact store unless another job, an upload or a ComfyUI-compatible file name still uses the same content (files are stored once by content). Only the job's owner may delete it (another key gets 404). A job that has not ended is refused with 409 job_not_finished naming its state: cancel it (POST /v1/jobs/{id}/cancel), wait for the end, then delete it. Uploads are kept. With --retain, the server deletes finished jobs past that age the same way.",
			params:      new(idParam), responses: []docResponse{{status: 204, description: "Deleted."}}, errors: []int{400, 401, 404, 409, 429}},
		{method: "GET", path: "/v1/jobs/{id}/deliveries", id: "listDeliveries", tag: "webhooks", summary: "List a job's webhook deliveries, every attempt included",
			description: "One entry per message (job.succeeded, …) with its state and every attempt: time, status code or error, duration, next try. Only the job's owner sees them (another key gets 404).",
			params:      new(idParam), responses: []docResponse{{status: 200, body: new(api.DeliveryList)}}, errors: []int{400, 401, 404, 429}},
		{method: "POST", path: "/v1/jobs/{id}/deliveries/redeliver", id: "redeliver", tag: "webhooks", summary: "Send a webhook message again",
			description: "The message (message_id, default the job's latest) is sent again with the same webhook-id, as a new series of attempts with a fresh retry window. 202 with the job's deliveries.",
			params:      new(idParam), body: new(api.RedeliverRequest),
			responses: []docResponse{{status: 202, body: new(api.DeliveryList), description: "Queued for delivery."}}, errors: []int{400, 401, 404, 429}},
		{method: "GET", path: "/v1/webhooks/secret", id: "webhookSecret", tag: "webhooks", summary: "The secret that signs webhooks",
			description: "whsec_<base64>, for a Standard Webhooks verifier: the configured --webhook-secret, or the one the server generated and keeps in its database." + adminNote,
			responses:   []docResponse{{status: 200, body: new(api.WebhookSecret)}}, errors: []int{401, 403, 404, 429}},
		{method: "GET", path: "/v1/jobs/{id}/events", id: "jobEvents", tag: "events", summary: "Follow a job's events (Server-Sent Events)",
			description: "text/event-stream: each event has id: (resume token), event: (the type) and data: (the Event as JSON). Replays the job's events after Last-Event-ID, then live ones; closes after the terminal event (succeeded, failed, cancelled). Comment lines are keepalives.",
			params:      new(streamParams), responses: []docResponse{{status: 200, body: new(api.Event), contentType: "text/event-stream", description: "A stream of events; data: is one Event."}},
			errors: jobErrs},
		{method: "GET", path: "/v1/jobs/{id}/ws", id: "jobEventsWS", tag: "events", summary: "Follow a job's events (WebSocket)",
			description: "The same stream as /events over a WebSocket: one JSON text message per Event, a normal close after the terminal event.",
			params:      new(wsParams), responses: []docResponse{{status: http.StatusSwitchingProtocols, description: "WebSocket; each text message is one Event."}},
			errors: jobErrs},
		{method: "GET", path: "/v1/events", id: "events", tag: "events", summary: "Follow all of the caller's jobs (Server-Sent Events)",
			description: "Live events of every job of the caller, framed as in /v1/jobs/{id}/events; it does not end on terminal events.",
			responses:   []docResponse{{status: 200, body: new(api.Event), contentType: "text/event-stream", description: "A stream of events."}},
			errors:      []int{401, 429}},
		{method: "GET", path: "/v1/events/ws", id: "eventsWS", tag: "events", summary: "Follow all of the caller's jobs (WebSocket)",
			responses: []docResponse{{status: http.StatusSwitchingProtocols, description: "WebSocket; each text message is one Event."}},
			errors:    []int{401, 429}},
		{method: "POST", path: "/v1/uploads", id: "upload", tag: "files", summary: "Upload an input file",
			description: "multipart/form-data with a file field, or the file itself as the body with its own Content-Type and ?filename=. Streamed; limited in size (413 names the limit). Pass the returned id as an image parameter.",
			params:      new(uploadParams), body: new(uploadForm), bodyTypes: []string{"application/octet-stream", "image/png", "image/jpeg", "image/webp"},
			responses: []docResponse{{status: 201, body: new(api.Upload)}}, errors: []int{400, 401, 413, 415, 429}},
		{method: "GET", path: "/v1/artifacts/{id}", id: "getArtifact", tag: "files", summary: "Download an output or input file",
			description: "Supports Range, If-None-Match (ETag) and HEAD. Images, video, audio and plain text are inline; other types download as attachments.",
			params:      new(idParam), responses: []docResponse{{status: 200, contentType: "application/octet-stream", description: "The file."},
				{status: 206, contentType: "application/octet-stream", description: "Part of the file (Range)."}, {status: 304, description: "Not modified."}},
			errors: []int{400, 401, 404, 429}},
		{method: "GET", path: "/v1/artifacts/{id}/link", id: "linkArtifact", tag: "files", summary: "Get a presigned download URL of a file",
			description: "With an S3 artifact store (--artifacts s3://…), answers a URL that downloads the file straight from the bucket, without an API key, until expires_at: hand it to a browser or a CDN so large files do not pass through comfygate. Anyone holding the URL can download the file until then. With files on local disk the answer is 409 links_unsupported: download the file at GET /v1/artifacts/{id}.",
			params:      new(linkParams), responses: []docResponse{{status: 200, body: new(api.ArtifactLink)}},
			errors: []int{400, 401, 404, 409, 429}},
		{method: "GET", path: "/v1/backends", id: "listBackends", tag: "system", summary: "List the fleet's ComfyUI backends",
			responses: []docResponse{{status: 200, body: new(api.BackendList)}}, errors: []int{401, 429}},
	}, append(append(adminOperations(), systemOperations()...), compatOperations()...)...)
}

// workflowOwnerNote says where a stored workflow goes.
const workflowOwnerNote = " With API keys, a user key stores its own workflow, which no other key sees; an admin key stores a shared one, which every key reads and runs. A user key storing the name of a shared workflow it has no own of is refused with 409 (code workflow_shared)."

// adminNote ends the description of every fleet change.
const adminNote = " Admin only: when API keys are configured, the key must be an admin key (403 otherwise)."

func adminOperations() []operation {
	return []operation{
		{method: "POST", path: "/v1/backends", id: "addBackend", tag: "backends", summary: "Add a ComfyUI server to the fleet",
			description: "The backend takes jobs once its first health probe and socket succeed; until then its state is unknown. Without an id the server names it backend-N." + adminNote,
			body:        new(api.AddBackendRequest), responses: []docResponse{{status: 201, body: new(api.Backend), description: "Added."}},
			errors: []int{400, 401, 403, 409, 429}},
		{method: "POST", path: "/v1/backends/test", id: "testBackend", tag: "backends", summary: "Try a ComfyUI server without adding it",
			description: "Probes the server from the gateway (GET /system_stats and /object_info), so the answer is what the fleet would see." + adminNote,
			body:        new(api.TestBackendRequest), responses: []docResponse{{status: 200, body: new(api.BackendProbe), description: "It answered as ComfyUI."}},
			errors: []int{400, 401, 403, 429, 502}},
		{method: "DELETE", path: "/v1/backends/{id}", id: "removeBackend", tag: "backends", summary: "Take a backend out of the fleet",
			description: "The backend is drained first; its jobs get a while to finish there, and the ones still on it then are retried on other backends. Answers once it is gone." + adminNote,
			params:      new(idParam), responses: []docResponse{{status: 204, description: "Removed."}}, errors: []int{400, 401, 403, 404, 429}},
		{method: "POST", path: "/v1/backends/{id}/drain", id: "drainBackend", tag: "backends", summary: "Stop giving a backend new jobs",
			description: "Jobs already on it run to the end." + adminNote,
			params:      new(idParam), responses: []docResponse{{status: 200, body: new(api.Backend)}}, errors: []int{400, 401, 403, 404, 429}},
		{method: "POST", path: "/v1/backends/{id}/resume", id: "resumeBackend", tag: "backends", summary: "Give a drained backend jobs again",
			description: strings.TrimSpace(adminNote),
			params:      new(idParam), responses: []docResponse{{status: 200, body: new(api.Backend)}}, errors: []int{400, 401, 403, 404, 429}},
	}
}

func systemOperations() []operation {
	return []operation{
		{method: "GET", path: "/healthz", id: "healthz", tag: "system", summary: "Liveness: 200 while the process serves", open: true,
			responses: []docResponse{{status: 200, contentType: "text/plain", description: "ok"}}},
		{method: "GET", path: "/readyz", id: "readyz", tag: "system", summary: "Readiness: 200 when the store and the artifact storage answer and a backend is healthy", open: true,
			responses: []docResponse{{status: 200, contentType: "text/plain", description: "ok"}, {status: 503, contentType: "text/plain", description: "not ready: the reason"}}},
		{method: "GET", path: "/health", id: "health", tag: "system", summary: "Liveness, as /healthz", open: true,
			responses: []docResponse{{status: 200, contentType: "text/plain", description: "ok"}}},
		{method: "GET", path: "/ready", id: "ready", tag: "system", summary: "Readiness, as /readyz", open: true,
			responses: []docResponse{{status: 200, contentType: "text/plain", description: "ok"}, {status: 503, contentType: "text/plain", description: "not ready: the reason"}}},
		{method: "GET", path: "/metrics", id: "metrics", tag: "system", summary: "Prometheus metrics",
			description: "Open while no key is configured; otherwise it needs an admin API key or the metrics key (--metrics-key), and refuses other keys with 403.",
			responses:   []docResponse{{status: 200, contentType: "text/plain", description: "Prometheus text exposition format."}}, errors: []int{401, 403}},
		{method: "GET", path: "/openapi.json", id: "openapi", tag: "system", summary: "This document", open: true,
			responses: []docResponse{{status: 200, contentType: "application/json", description: "OpenAPI 3.1 document."}}},
		{method: "GET", path: "/docs", id: "docs", tag: "system", summary: "Interactive API documentation", open: true,
			responses: []docResponse{{status: 200, contentType: "text/html", description: "HTML page."}}},
		{method: "GET", path: "/docs/{file}", id: "docsAsset", tag: "system", summary: "Assets of the documentation page", open: true,
			params: new(struct {
				File string `path:"file"`
			}), responses: []docResponse{{status: 200, contentType: "application/octet-stream", description: "A static file."}}, errors: []int{404}},
	}
}
