// Package comfy speaks ComfyUI's HTTP and WebSocket protocol.
//
// It exists so that every other part of comfygate talks to ComfyUI through one
// place that knows the protocol's real shapes and quirks, as observed in traffic
// captured from ComfyUI 0.3.64: queue items are 5-element arrays, history keeps
// insertion order, POST /prompt has three outcomes (queued, queued with some
// outputs dropped, rejected), errors can be plain-text 500s, seeds reach 2^64-1,
// and a client id must never be held by two sockets at once.
//
// The wire types are used in both directions: the Client and Conn decode them,
// and the simulator (comfy/comfysim) and the gateway encode them, so struct field
// order follows ComfyUI's key order and numbers that may exceed float64
// precision are kept as json.Number or json.RawMessage.
//
// The parts: Client for the HTTP routes; Dial and Conn for one WebSocket;
// Watcher for a long-lived socket per client id that redials without ever
// overlapping two; RunTracker and IsTerminal to follow one prompt to its end;
// DecodeMessage, DecodeBinaryFrame and the Encode functions for the frames.
//
// The package is a leaf: it imports only the standard library and
// github.com/coder/websocket.
package comfy
