// Package comfywire holds the server side of ComfyUI's HTTP dialect: how
// aiohttp routes (every route again under /api, 404 and 405 in its words,
// no path cleaning), how it answers (content types, empty bodies, the
// plain-text 500), how it reads request bodies and how yarl reads a query
// string, the /api/jobs query of newer ComfyUI, and ComfyUI's
// origin_only_middleware.
//
// It exists because two servers speak that dialect to the same clients:
// the simulator (comfy/comfysim) and comfygate's drop-in surface
// (internal/comfyapi). Clients compare status lines, headers and bodies
// byte for byte, so both must answer the same way; one copy keeps them from
// drifting apart. It is internal because it is no API of its own: in-module
// packages, the public simulator included, may import it.
package comfywire
