// Package comfyjson is JSON as ComfyUI's Python reads and writes it: objects
// that keep their key order (Python dicts do), numbers that stay ints or
// floats as json.loads decided, text in json.dumps layout, and values
// printed with Python's repr() and str() as ComfyUI's error messages and
// queue listings show them.
//
// Go's encoding/json does none of this: a map forgets key order, numbers
// lose the int/float distinction, and its output differs from json.dumps in
// separators, escapes and float digits. Everything that has to match
// ComfyUI byte for byte (the client in package comfy, the graph decoder in
// workflow, the simulator, the capture replay) shares this one package so
// that the rules live in one place.
//
// Decoded values are nil, bool, string, json.Number (the literal as
// written), []any and Object. The package imports nothing outside the
// standard library.
package comfyjson
