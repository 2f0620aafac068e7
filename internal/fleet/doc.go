// Package fleet is comfygate's dispatcher: it owns the connections to the
// ComfyUI backends, takes queued jobs from the store, binds each one to a
// backend only when that backend has a free slot, follows the run over one
// WebSocket per backend, copies the outputs into the artifact store, and ends
// the job in the store.
//
// It exists because ComfyUI keeps its queue, history and socket routing in
// memory, forgets them on restart, and drops events for sockets that are not
// connected. The fleet is where comfygate makes up for that: the store is the
// queue, every job is claimed with a compare-and-set before it is sent, a run
// whose events stop is reconciled from /queue and /history, and a job whose
// backend lost it runs again elsewhere (bounded attempts) without ever being
// submitted twice while a copy may still run.
//
// Concurrency layout: the scheduler goroutine owns placement over an
// in-memory view of the queue (a Policy); each placed job gets a run
// goroutine (an actor) that claims, stages, submits, follows and finishes it,
// fed by a mailbox; each backend has a socket goroutine that only routes
// decoded frames to the mailbox of the run they name, and a health goroutine
// that probes, marks state and catches stalls. Runs share no mutable state,
// so the hot path holds no lock wider than one backend's routing table.
//
// Decisions worth knowing (each explained where it is made):
//   - A job's first attempt is posted with prompt_id = job id; later attempts
//     get ids derived from (job id, attempt), because a retry may land on a
//     backend that still knows the first one (promptid.go).
//   - The end of a run is read from /history unless our socket provably saw
//     all of it (Config.VerifyHistory).
//   - Dispatched jobs carry a lease (LeaseOwner/LeaseUntil) so that several
//     replicas, or a restarted one, re-attach each job exactly once.
//   - ComfyUI's cache pitfall is handled by copying outputs at every job's
//     end and, when a cached answer names deleted files, one re-run with a
//     cache-busting input (cachebust.go).
//   - A backend's death is charged to the prompt it was running; a job
//     charged too often fails as a suspected crasher (crash.go).
//   - A running prompt its backend goes silent on is interrupted and
//     retried; the backend takes no jobs until it speaks (stall.go).
//   - A job waiting in a backend's queue moves to a backend that can start
//     it now, once /queue and /history prove it never started (move.go).
//   - A job submitted while a backend has a free slot and no job waits is
//     claimed by the commit that creates it: the gateway holds a
//     Reservation (the slot, and the run registered under the job's id)
//     while it stores the job, so the job costs one write before its
//     prompt is posted, not two (reserve.go).
package fleet
