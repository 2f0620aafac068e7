// Package corenodes carries the node definitions of ComfyUI's core nodes,
// exactly as ComfyUI 0.3.64 (commit a125cd84b054) reports them from
// GET /object_info.
//
// It exists so that comfygate can validate prompts, detect parameters and
// convert editor workflows without a ComfyUI server at hand, and so that the
// simulator can serve the same definitions a real server would. The
// definitions were dumped from a real 0.3.64 server (CPU, no models; the
// 376 node types of the captured traffic: without kornia/spandrel nodes and
// API nodes) and are embedded byte for byte. Only the lists that depend on
// the server's files (model folders and the input directory) are filled in
// at run time from a Models value, as ComfyUI fills them from disk.
package corenodes
