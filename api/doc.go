// Package api holds the wire types of comfygate's native REST API.
//
// The server (internal/httpapi) and the Go SDK (package client) share these
// types, so a field added here is added to both sides at once, and the
// OpenAPI document generated from them is the same contract again. Nothing in
// this package talks to the network or depends on server internals.
package api
