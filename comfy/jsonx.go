package comfy

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
)

// decodeUseNumber decodes one JSON value keeping numbers as json.Number, and
// rejects trailing data.
func decodeUseNumber(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("unexpected data after JSON value")
	}
	return nil
}

// jsonKind names the kind of a raw JSON value for error messages.
func jsonKind(raw []byte) string {
	t := bytes.TrimSpace(raw)
	if len(t) == 0 {
		return "nothing"
	}
	switch t[0] {
	case '{':
		return "object"
	case '[':
		return "array"
	case '"':
		return "string"
	case 't', 'f':
		return "bool"
	case 'n':
		return "null"
	default:
		return "number"
	}
}

// orEmptyObject returns raw, or {} when raw is empty, so encoders never emit
// invalid JSON for an unset RawMessage that ComfyUI always sends as an object.
func orEmptyObject(raw json.RawMessage) json.RawMessage {
	if len(raw) == 0 {
		return json.RawMessage("{}")
	}
	return raw
}

// orEmptySlice returns s, or an empty non-nil slice so it encodes as []
// where ComfyUI never sends null.
func orEmptySlice[S ~[]E, E any](s S) S {
	if s == nil {
		return S{}
	}
	return s
}

// orEmptyMap returns m, or an empty non-nil map so it encodes as {}.
func orEmptyMap[M ~map[K]V, K comparable, V any](m M) M {
	if m == nil {
		return M{}
	}
	return m
}

// pythonNonFinite replaces the bare NaN, Infinity and -Infinity tokens that
// Python's json.dumps writes for non-finite floats (invalid JSON) with null.
// It reports whether anything was replaced. Custom nodes can put such values
// in object_info options or execution_error inputs; turning them into null
// beats losing the whole message.
func pythonNonFinite(data []byte) ([]byte, bool) {
	if !bytes.Contains(data, []byte("NaN")) && !bytes.Contains(data, []byte("Infinity")) {
		return data, false
	}
	out := make([]byte, 0, len(data))
	inString, escaped, changed := false, false, false
	for i := 0; i < len(data); i++ {
		c := data[i]
		if inString {
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
			out = append(out, c)
			continue
		}
		if c == '"' {
			inString = true
		}
		if tok := nonFiniteAt(data[i:]); tok > 0 {
			out = append(out, "null"...)
			i += tok - 1
			changed = true
			continue
		}
		out = append(out, c)
	}
	return out, changed
}

// nonFiniteAt returns the length of a NaN/Infinity/-Infinity token at the
// start of b, or 0.
func nonFiniteAt(b []byte) int {
	for _, tok := range [...]string{"NaN", "Infinity", "-Infinity"} {
		if bytes.HasPrefix(b, []byte(tok)) {
			return len(tok)
		}
	}
	return 0
}
