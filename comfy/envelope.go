package comfy

import (
	"bytes"
	"encoding/json"
)

// splitEnvelope reads the envelope of a message as ComfyUI writes it
// (json.dumps({"type": t, "data": d}): the two keys in that order, a plain
// ASCII type, an object as data) without decoding it through reflection;
// data is what follows "data": up to the closing brace. ok is false for
// anything else, which DecodeMessage then decodes in full. Whether data is
// one valid JSON value is left to the caller: an invalid or trailing part
// would make it fail to decode.
func splitEnvelope(b []byte) (typ string, data []byte, ok bool) {
	s := scanner{b: b}
	if !s.take('{') || string(s.plain()) != "type" || !s.take(':') {
		return "", nil, false
	}
	t := s.plain()
	if !s.take(',') || string(s.plain()) != "data" || !s.take(':') {
		return "", nil, false
	}
	s.space()
	rest := bytes.TrimRight(b[s.i:], " \t\r\n")
	if len(rest) < 2 || rest[0] != '{' || rest[len(rest)-1] != '}' {
		return "", nil, false
	}
	return string(t), bytes.TrimRight(rest[:len(rest)-1], " \t\r\n"), true
}

// decodeFast decodes a message through splitEnvelope; ok is false when the
// message needs the full decoder (another envelope, data that does not
// decode as it is, Python's NaN).
func decodeFast(b []byte) (Event, bool) {
	typ, data, ok := splitEnvelope(b)
	if !ok || typ == "" {
		return nil, false
	}
	ev, err := decodeEventData(typ, data)
	if err != nil {
		return nil, false
	}
	if u, unknown := ev.(UnknownEvent); unknown {
		if !json.Valid(u.Data) {
			return nil, false // known types were checked by decoding them
		}
		u.Data = bytes.Clone(u.Data) // not the caller's buffer
		return u, true
	}
	return ev, true
}
