// Package gateway holds comfygate's use cases — submit, follow and cancel
// jobs, store workflows, accept uploads, change the fleet — behind one
// Service, in the domain's types. Every surface calls it: the REST API
// (internal/httpapi), the ComfyUI-compatible surface (internal/comfyapi)
// and the Flask-compatible one (internal/flaskapi) each decode their wire
// form into a job.Submission or an id, call the Service, and encode its
// answer in their own wire form; the CLI and the web UI go through the
// REST API.
//
// Keeping the use cases here, apart from transports, means each rule is
// written once: how a submission is resolved, how its file inputs are
// staged (only the caller's own files; no name that leaves a backend's
// input directory), how it is validated, admitted against the backlog and
// made durable before it is acknowledged (Submit is the only place a job
// is created and its first event published; SubmitParsed is Submit for a
// surface that already parsed and validated the prompt as ComfyUI does,
// which skips only that second parse and validation), who may see or
// change what (below), and what a queue position means.
//
// # Who sees what
//
// Callers are API key ids ("owners"); with authentication off the caller
// is "" and everyone is the admin (IsAdmin). A key reaches only its own
// jobs, and only the stored files it stored itself: an upload or output
// id, or a staged name, is the caller's when the caller holds a record of
// that blob (job.Store.GetOwnedArtifact), so the same bytes uploaded by
// two keys are each one's, and another key's id is "not found" whether
// it is downloaded or given as a job input (refused with an InputError
// naming the request field).
//
// Workflows live in namespaces: the shared one (the watched directory,
// and what admin keys write) and one per other key. A key reads and runs
// its own workflows and the shared ones, its own first when both have a
// name; it writes and deletes only its own. Storing a name that a shared
// workflow has, without an own workflow of that name, is a ConflictError
// (the key could not tell the two apart); deleting a shared workflow is a
// ForbiddenError. Admins write the shared namespace and see no key's own.
//
// Error texts from backends and the system (job errors, tracebacks,
// attempt errors, retry reasons, failed fetches) are shown whole to
// admins and through PublicText to every other key (TextFor). Backend
// routes the surfaces do not serve are open to admins, and to other keys
// only under Config.ProxyAllow (ProxyAllowed).
//
// # Queue position
//
// A waiting job's queue position is the number of waiting jobs — queued
// or retrying, of every owner — that come before it in the store's
// dispatch order: higher priority first, then earlier submission. 0 means
// no job is ahead. Jobs that have a backend have no position. Every
// surface shows this number: the REST job's queue_position and the
// "queued" event's position (0-based), the Flask task_status's
// queue_position (1-based, as the Flask service counted). The
// ComfyUI-compatible surface keeps ComfyUI's own "number" and /queue
// shapes, which are not positions.
//
// Because the order is the store's, every replica sharing a store counts
// the same. Counting reads the queue's shape from the dispatch index
// (job.Store.QueueKeys): a short queue (under 256 jobs) for every count,
// so its positions are exact; a long one at most once a second, adding
// the jobs accepted here since, so positions deep in a long queue may be
// up to a second old. The same count admits new jobs (Config.MaxQueued).
// A position counts, it does not promise: the dispatcher lets owners take
// turns within a priority, and a later job of higher priority goes ahead.
package gateway
