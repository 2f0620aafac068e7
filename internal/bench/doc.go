// Package bench drives a running comfygate (or ComfyUI) over real sockets
// with concurrent clients, the way applications use it, and measures what
// sizing a gateway tier needs: jobs per second, per-job latency
// percentiles and the server's own CPU time per job.
//
// Each client runs one job at a time, from submission to its outputs
// downloaded, on one of two paths:
//   - PathREST: POST /v1/jobs, the job's event stream until it ends, then
//     each output artifact;
//   - PathComfy: a ComfyUI client: its own /ws, POST /prompt, the socket
//     until the prompt is done, GET /history/{id}, then /view for each
//     file — so the same run can be pointed at ComfyUI itself to compare.
//
// CPU time comes from the server's Prometheus process_cpu_seconds_total,
// read before and after the measured jobs; a server without it (ComfyUI)
// reports none.
package bench
