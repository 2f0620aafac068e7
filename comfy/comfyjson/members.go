package comfyjson

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// Typed objects: ComfyUI keys many answers by id or name (/history by
// prompt id, /object_info by class, a node's inputs by name) and the order
// of those keys carries meaning. A Go type that keeps such an object as an
// ordered slice decodes and encodes it with these two helpers.

// DecodeMembers reads the JSON object in data member by member, in
// document order: each value is decoded into a new V with encoding/json and
// handed to add with its key. A repeated key is handed over again;
// anything but an object is an error.
func DecodeMembers[V any](data []byte, add func(key string, value V)) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := expectDelim(dec, '{'); err != nil {
		return err
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		key, _ := tok.(string) // the decoder only yields string keys
		var v V
		if err := dec.Decode(&v); err != nil {
			return fmt.Errorf("%q: %w", key, err)
		}
		add(key, v)
	}
	return expectDelim(dec, '}')
}

func expectDelim(dec *json.Decoder, want json.Delim) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if d, ok := tok.(json.Delim); !ok || d != want {
		return fmt.Errorf("expected %q, got %v", want, tok)
	}
	return nil
}

// MarshalMembers writes the n members that member returns, in order, as one
// JSON object in json.dumps layout; keys and values are encoded with
// json.Marshal.
func MarshalMembers(n int, member func(i int) (key string, value any)) ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		key, value := member(i)
		k, err := json.Marshal(key)
		if err != nil {
			return nil, err
		}
		v, err := json.Marshal(value)
		if err != nil {
			return nil, fmt.Errorf("%q: %w", key, err)
		}
		b.Write(k)
		b.WriteString(": ")
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}
