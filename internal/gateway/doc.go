// Package gateway holds comfygate's use cases — submit, follow and cancel
// jobs, store workflows, accept uploads — behind one Service that every
// surface (REST, ComfyUI-compatible, Flask-compatible, CLI) calls.
//
// Keeping the use cases here, apart from transports, means the rules (how a
// request is validated, bound and made durable before it is acknowledged) are
// written once, and each surface stays a thin translation of its own wire
// format.
package gateway
