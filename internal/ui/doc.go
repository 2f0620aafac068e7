// Package ui is comfygate's web UI: pick a workflow, fill the form its
// parameter schema generates, run it, watch progress and previews live,
// browse the gallery of results, and see the queue and the fleet.
//
// It exists so that a team gets a usable front end from the one comfygate
// binary, with nothing else to build, host or trust: the page is plain HTML,
// CSS and JavaScript modules embedded with go:embed, loaded from this
// origin only (no CDN, no npm, no build step), and it talks to the native
// REST API (/v1) exactly as any other client does, with fetch and
// Server-Sent Events. It knows nothing of the server's internals: the API
// is its whole contract, so the UI cannot do what a client could not.
//
// Safety is in the handler, not in care alone: every answer carries a
// strict Content-Security-Policy (own scripts and styles only, Trusted
// Types required, so an HTML string can never reach the DOM), nosniff and
// no framing; the scripts build the DOM with textContent only.
package ui
