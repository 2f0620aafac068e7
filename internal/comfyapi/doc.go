// Package comfyapi is comfygate's drop-in ComfyUI surface: the routes and
// WebSocket messages of ComfyUI itself (POST /prompt, /ws, /queue,
// /history, /view, uploads, /object_info, ... and all of them again under
// /api/), served on comfygate's own listener.
//
// It exists so that a client written for ComfyUI — the official examples,
// the TypeScript, Python and Go client libraries, n8n nodes — works
// unchanged against comfygate, while its prompts become durable comfygate
// jobs that run on any backend of the fleet. It presents the whole fleet as
// one ComfyUI: one queue, one history (kept in comfygate's store, so it
// survives restarts), one set of input/output directories per API key.
//
// The surface is ComfyUI's wire and nothing more: it decodes ComfyUI's
// bodies, answers in ComfyUI's shapes (one table writes every error, see
// respond), and goes through the use cases of internal/gateway, like every
// surface, to submit, find and cancel jobs and to check and stage file
// inputs; it never creates a job or reaches the dispatcher itself.
//
// Three things make that illusion hold:
//
//   - Relay. The fleet taps every message a backend sends about a job
//     (Handler.Message, a fleet.Tap). The relay rewrites the attempt's
//     prompt id to the one the client knows, renames output files, routes
//     each message to the sockets ComfyUI would (targeted or broadcast,
//     preview format per socket), and holds a run's end back until the job
//     is finalized in the store, so GET /history right after
//     "executing null" has the entry. Messages of one owner leave in order;
//     each socket's writer sends whatever is queued for it with one write
//     to the network (the same frames, fewer system calls).
//   - Names. Outputs get names that are unique per owner across the fleet
//     (two backends both writing ComfyUI_00001_.png show as 00001 and
//     00002); uploads follow ComfyUI's naming rules. Both live in the
//     store's comfy files table and are served by GET /view from the
//     artifact store.
//   - Security the real server lacks: credentials never leave in /queue or
//     /history, events never reach another key's sockets, a clientId is
//     bound to the key that first used it, traversal is refused, and
//     /system_stats shows no argv or paths.
//
// Where a fleet cannot be one ComfyUI, the surface says so in the open:
// queue_running lists every prompt a backend has (not at most one);
// history is in submission order; ComfyUI's "number" orders the queue in
// three tiers (front, a client's number below the counter, the rest, each
// first in first out); with API keys on, POST /free does nothing and the
// backends' shared routes (/internal/..., user data, settings) are not
// passed through; and keys are read from headers only, which browsers'
// WebSockets cannot send.
package comfyapi
