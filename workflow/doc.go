// Package workflow models ComfyUI prompts (the API-format graph sent to
// POST /prompt) and checks them the way the server does.
//
// It exists because comfygate must decide, before a prompt ever reaches a
// ComfyUI backend, whether that backend would accept it, and answer with the
// very same status codes, error types, messages and node_errors a client of
// ComfyUI expects. The reference is ComfyUI 0.3.64 (commit a125cd84b054): its
// POST /prompt body handling (DecodePromptBody), its validate_prompt and
// validate_inputs (Catalog.Validate), including Python's value conversions
// (int(), float(), str(), bool()) and the text of its error details, which
// this package reproduces with a small model of Python's value semantics.
//
// Graphs keep every number as json.Number, so seeds up to 2^64-1 survive a
// decode/encode round trip, and they remember the key order they were decoded
// in, because ComfyUI reports the first failing node in prompt order and shows
// prompts back in the order they were sent.
//
// The package also holds what the gateway builds on top of a graph: workflow
// parameters (detection, JSON Schema, binding), conversion of editor (UI)
// workflow files to API prompts, and content hashes.
package workflow
