package httpapi

import (
	"mime/multipart"
	"net/http"
	"strings"
)

// The ComfyUI- and Flask-compatible surfaces are other packages' handlers
// on the same listener; they are described here so that /openapi.json
// covers everything the process serves. A test in internal/server checks
// this table against the routes those surfaces register. Their answers
// follow ComfyUI 0.3.64 and the Flask service, not this API's error format.

const (
	comfyTag = "ComfyUI-compatible"
	flaskTag = "Flask-compatible"
	// comfyNote ends every ComfyUI route's description.
	comfyNote = " ComfyUI's own route and answer (see its server.py); served by comfygate over its fleet and store. Also served without the /api prefix, or with it, as ComfyUI does."
	flaskNote = " The route and answer of the Flask \"ComfyUI API Service\" (leoleelxh/comfyui-api), backed by comfygate's workflows and jobs. Also served under /flask."
)

// Parameter and body shapes of the compatible routes (only their tags and
// fields matter).
type (
	comfyPromptRequest struct {
		Prompt                  map[string]any `json:"prompt" required:"true" description:"API-format graph: node id → {class_type, inputs, _meta}."`
		ClientID                string         `json:"client_id,omitempty" description:"The clientId of the /ws socket that gets this prompt's events."`
		PromptID                string         `json:"prompt_id,omitempty" description:"The prompt's id (also the comfygate job's); a UUID when absent."`
		ExtraData               map[string]any `json:"extra_data,omitempty" description:"Passed on to ComfyUI; credentials in it never appear in /queue or /history."`
		Front                   bool           `json:"front,omitempty" description:"Queue ahead of the others."`
		Number                  float64        `json:"number,omitempty" description:"Queue order number (sets the priority)."`
		PartialExecutionTargets []string       `json:"partial_execution_targets,omitempty" description:"Run only these output nodes."`
	}
	comfyPromptAnswer struct {
		PromptID   string         `json:"prompt_id"`
		Number     float64        `json:"number"`
		NodeErrors map[string]any `json:"node_errors"`
	}
	comfyPromptError struct {
		Error      map[string]any `json:"error" description:"{type, message, details, extra_info}"`
		NodeErrors map[string]any `json:"node_errors" description:"Per node id: {errors, dependent_outputs, class_type}."`
	}
	comfyQueueChange struct {
		Clear  bool     `json:"clear,omitempty" description:"Remove every pending prompt of the caller."`
		Delete []string `json:"delete,omitempty" description:"Prompt ids to remove."`
	}
	comfyUploadForm struct {
		Image     multipart.File `formData:"image" required:"true" description:"The file."`
		Overwrite string         `formData:"overwrite" enum:"true,false,1"`
		Subfolder string         `formData:"subfolder"`
		Type      string         `formData:"type" enum:"input,temp,output"`
	}
	comfyMaskForm struct {
		comfyUploadForm
		OriginalRef string `formData:"original_ref" required:"true" description:"JSON {filename, subfolder, type} of the image the mask applies to."`
	}
	comfyViewParams struct {
		Filename  string `query:"filename" required:"true"`
		Subfolder string `query:"subfolder"`
		Type      string `query:"type" enum:"output,input,temp"`
		Preview   string `query:"preview" example:"webp;90" description:"Re-encode: webp or jpeg, with a quality."`
		Channel   string `query:"channel" enum:"rgba,rgb,a"`
	}
	comfyWSParams struct {
		ClientID string `query:"clientId" description:"Names the socket; prompts posted with this client_id send their events here. With API keys it belongs to the key that first used it."`
	}
	comfyHistoryParams struct {
		MaxItems int `query:"max_items"`
		Offset   int `query:"offset"`
	}
	comfyJobsParams struct {
		Status     string `query:"status" example:"pending,in_progress" description:"Comma-separated: pending, in_progress, completed, failed, cancelled."`
		WorkflowID string `query:"workflow_id"`
		SortBy     string `query:"sort_by" enum:"created_at,execution_duration"`
		SortOrder  string `query:"sort_order" enum:"asc,desc"`
		Limit      int    `query:"limit" minimum:"1"`
		Offset     int    `query:"offset"`
	}
	promptIDParam struct {
		PromptID string `path:"prompt_id"`
	}
	jobIDParam struct {
		JobID string `path:"job_id"`
	}
	nodeClassParam struct {
		NodeClass string `path:"node_class"`
	}
	folderParam struct {
		Folder string `path:"folder"`
	}
	flaskRunRequest struct {
		Prompt     string `json:"prompt,omitempty" description:"Simple form: the text to put into target_node."`
		TargetNode string `json:"target_node,omitempty" description:"Simple form: the node id whose text input gets prompt."`
	}
	flaskHistoryParams struct {
		MaxItems int `query:"max_items"`
	}
)

var (
	jsonAnswer = func(desc string) docResponse {
		return docResponse{status: http.StatusOK, contentType: "application/json", description: desc}
	}
	comfyUnauthorized = docResponse{status: http.StatusUnauthorized, contentType: "text/plain", description: "With API keys: a missing or unknown key."}
)

func compatOperations() []operation {
	return append(comfyOperations(), flaskOperations()...)
}

// comfyOperations lists each ComfyUI route twice, with and without /api,
// except the jobs routes, which ComfyUI declares under /api only.
func comfyOperations() []operation {
	var out []operation
	for _, op := range comfyRoutes() {
		op.tag = comfyTag
		op.description = strings.TrimSpace(op.description + comfyNote)
		op.responses = append(op.responses, comfyUnauthorized)
		if !strings.HasPrefix(op.path, "/api/") {
			root := op
			root.id = "comfy_" + op.id
			out = append(out, root)
			op.path = "/api" + op.path
		}
		op.id = "comfy_" + op.id + "_api"
		out = append(out, op)
	}
	return out
}

func comfyRoutes() []operation {
	return []operation{
		{method: "GET", path: "/ws", id: "ws", summary: "Follow prompts over ComfyUI's WebSocket",
			description: "Status greeting with sid, then execution_start, executing, progress, executed, execution_success and previews (binary frames) of the caller's prompts.",
			params:      new(comfyWSParams), responses: []docResponse{{status: http.StatusSwitchingProtocols, description: "WebSocket."}}},
		{method: "POST", path: "/prompt", id: "postPrompt", summary: "Queue a prompt",
			description: "Validated as ComfyUI validates it; becomes a durable comfygate job with the same id, run on any backend.",
			body:        new(comfyPromptRequest), responses: []docResponse{{status: 200, body: new(comfyPromptAnswer), description: "Queued."},
				{status: 400, body: new(comfyPromptError), description: "Invalid prompt: error and node_errors as ComfyUI sends them."}}},
		{method: "GET", path: "/prompt", id: "getPrompt", summary: "Queue summary", responses: []docResponse{jsonAnswer("{exec_info: {queue_remaining}}")}},
		{method: "GET", path: "/queue", id: "getQueue", summary: "Running and pending prompts", responses: []docResponse{jsonAnswer("{queue_running, queue_pending}")}},
		{method: "POST", path: "/queue", id: "postQueue", summary: "Clear or delete pending prompts", body: new(comfyQueueChange), responses: []docResponse{{status: 200, description: "Done."}}},
		{method: "POST", path: "/interrupt", id: "interrupt", summary: "Interrupt the caller's running prompt", responses: []docResponse{{status: 200, description: "Done."}}},
		{method: "POST", path: "/free", id: "free", summary: "Ask the backends to free memory", responses: []docResponse{{status: 200, description: "Done."}}},
		{method: "GET", path: "/history", id: "getHistory", summary: "Finished prompts", params: new(comfyHistoryParams), responses: []docResponse{jsonAnswer("prompt id → {prompt, outputs, status, meta}")}},
		{method: "GET", path: "/history/{prompt_id}", id: "getHistoryItem", summary: "One finished prompt", params: new(promptIDParam), responses: []docResponse{jsonAnswer("{prompt id: entry}, or {} when unknown")}},
		{method: "POST", path: "/history", id: "postHistory", summary: "Clear or delete history entries", body: new(comfyQueueChange), responses: []docResponse{{status: 200, description: "Done."}}},
		{method: "GET", path: "/view", id: "view", summary: "Download an output, input or temp file", description: "Range and conditional requests work.",
			params: new(comfyViewParams), responses: []docResponse{{status: 200, contentType: "application/octet-stream", description: "The file."}, {status: 404, description: "No such file."}}},
		{method: "POST", path: "/upload/image", id: "uploadImage", summary: "Upload an input image", body: new(comfyUploadForm), responses: []docResponse{jsonAnswer("{name, subfolder, type}")}},
		{method: "POST", path: "/upload/mask", id: "uploadMask", summary: "Upload a mask for an input image", body: new(comfyMaskForm), responses: []docResponse{jsonAnswer("{name, subfolder, type}")}},
		{method: "GET", path: "/object_info", id: "objectInfo", summary: "The fleet's node catalog", responses: []docResponse{jsonAnswer("node class → definition")}},
		{method: "GET", path: "/object_info/{node_class}", id: "objectInfoClass", summary: "One node class", params: new(nodeClassParam), responses: []docResponse{jsonAnswer("{class: definition}, or {}")}},
		{method: "GET", path: "/system_stats", id: "systemStats", summary: "System and devices", description: "Without paths or the command line.", responses: []docResponse{jsonAnswer("{system, devices}")}},
		{method: "GET", path: "/features", id: "features", summary: "Server features", responses: []docResponse{jsonAnswer("Feature flags")}},
		{method: "GET", path: "/embeddings", id: "embeddings", summary: "Embedding names", responses: []docResponse{jsonAnswer("A list of names")}},
		{method: "GET", path: "/models", id: "models", summary: "Model folders", responses: []docResponse{jsonAnswer("A list of folder names")}},
		{method: "GET", path: "/models/{folder}", id: "modelsIn", summary: "Models in a folder", params: new(folderParam), responses: []docResponse{jsonAnswer("A list of file names")}},
		{method: "GET", path: "/extensions", id: "extensions", summary: "Frontend extensions", responses: []docResponse{jsonAnswer("A list of script paths")}},
		{method: "GET", path: "/api/jobs", id: "listJobs", summary: "The caller's jobs (newer ComfyUI's jobs API)", params: new(comfyJobsParams), responses: []docResponse{jsonAnswer("{jobs, pagination}")}},
		{method: "GET", path: "/api/jobs/{job_id}", id: "getJob", summary: "One job", params: new(jobIDParam), responses: []docResponse{jsonAnswer("The job"), {status: 404, description: "Unknown job."}}},
		{method: "POST", path: "/api/jobs/{job_id}/cancel", id: "cancelJob", summary: "Cancel a job", params: new(jobIDParam), responses: []docResponse{jsonAnswer("Cancelled")}},
		{method: "POST", path: "/api/jobs/cancel", id: "cancelJobs", summary: "Cancel jobs", responses: []docResponse{jsonAnswer("Cancelled")}},
	}
}

func flaskOperations() []operation {
	routes := []operation{
		{method: "GET", path: "/api/workflows", id: "workflows", summary: "Stored workflows", responses: []docResponse{jsonAnswer("{workflows: [...]}")}},
		{method: "POST", path: "/api/workflow/{name}", id: "runWorkflow", summary: "Run a stored workflow",
			description: "Simple form {prompt, target_node}, or advanced form {node_id: {inputs: {...}}}.",
			params:      new(nameParam), body: new(flaskRunRequest), responses: []docResponse{jsonAnswer("{prompt_id, ...}")}},
		{method: "GET", path: "/api/task_status/{prompt_id}", id: "taskStatus", summary: "A task's state",
			description: "pending (with queue position), running, completed (with image URLs), error or not_found.",
			params:      new(promptIDParam), responses: []docResponse{jsonAnswer("{status, ...}")}},
		{method: "GET", path: "/api/image/{prompt_id}", id: "image", summary: "A task's first image", params: new(promptIDParam),
			responses: []docResponse{{status: 200, contentType: "image/png", description: "The image."}}},
		{method: "GET", path: "/api/test_comfy", id: "testComfy", summary: "Whether a backend answers", responses: []docResponse{jsonAnswer("{status, ...}")}},
	}
	history := []operation{
		{method: "GET", path: "/api/history", id: "history", summary: "Finished tasks", params: new(flaskHistoryParams), responses: []docResponse{jsonAnswer("Tasks")}},
		{method: "GET", path: "/api/history/{prompt_id}", id: "historyItem", summary: "One finished task", params: new(promptIDParam), responses: []docResponse{jsonAnswer("The task")}},
	}
	var out []operation
	for _, op := range routes {
		op.tag, op.description = flaskTag, strings.TrimSpace(op.description+flaskNote)
		root, prefixed := op, op
		root.id, prefixed.id, prefixed.path = "flask_"+op.id, "flask_"+op.id+"_prefixed", "/flask"+op.path
		out = append(out, root, prefixed)
	}
	for _, op := range history { // /api/history is ComfyUI's; the Flask one lives under /flask only
		op.tag, op.id, op.path = flaskTag, "flask_"+op.id, "/flask"+op.path
		op.description = "The Flask service's history (at /api/history without the prefix, ComfyUI's answers)."
		out = append(out, op)
	}
	return out
}
