// Package flaskapi is comfygate's third surface: the routes of the small
// Flask service leoleelxh/comfyui-api ("ComfyUI API Service"), which many
// teams put in front of ComfyUI before they need more. Its clients (Dify
// code nodes, n8n flows, scripts) keep working when pointed at comfygate,
// while their jobs become real comfygate jobs: durable, scheduled across
// the fleet, visible in /v1/jobs.
//
// The shapes follow the Flask service's app.py and README (see the comment
// on each handler for the function it mirrors). Where the Flask code is
// loose — an unknown target node silently falls back to another node, a
// status check that fails reports "unknown" — this package answers with a
// clear error instead, because a prompt sent to the wrong node is worse
// than a 400.
//
// Every route is served at the root (/api/...) and again under /flask
// (/flask/api/...), so a client can also move by changing only its base
// URL. /api/history is the exception at the root: the Flask service passes
// ComfyUI's /history through unchanged, and at the root that route belongs
// to the ComfyUI-compatible surface, which serves the same shape.
package flaskapi
