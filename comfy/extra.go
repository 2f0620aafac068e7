package comfy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
)

// unmarshalWithExtra decodes data into the known fields of *p and stores
// every other key in *extra (nil when there are none). P is a method-less
// copy of the type being decoded, so that json.Unmarshal does not call back
// into its UnmarshalJSON.
func unmarshalWithExtra[P any](data []byte, p *P, extra *map[string]json.RawMessage) error {
	if err := json.Unmarshal(data, p); err != nil {
		return err
	}
	var all map[string]json.RawMessage
	if err := json.Unmarshal(data, &all); err != nil {
		return err
	}
	for _, k := range jsonFieldNames(reflect.TypeFor[P]()) {
		delete(all, k)
	}
	if len(all) == 0 {
		all = nil
	}
	*extra = all
	return nil
}

// marshalWithExtra encodes known (a method-less copy of the type being
// encoded), then appends extra.
func marshalWithExtra(known any, extra map[string]json.RawMessage) ([]byte, error) {
	data, err := json.Marshal(known)
	if err != nil {
		return nil, err
	}
	return appendFields(data, extra)
}

func jsonFieldNames(t reflect.Type) []string {
	var names []string
	for f := range t.Fields() {
		tag := f.Tag.Get("json")
		if tag == "-" || !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if name == "" {
			name = f.Name
		}
		names = append(names, name)
	}
	return names
}

// appendFields appends extra (sorted by key) to the JSON object known.
func appendFields(known []byte, extra map[string]json.RawMessage) ([]byte, error) {
	if len(extra) == 0 {
		return known, nil
	}
	keys := make([]string, 0, len(extra))
	for k := range extra {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var buf bytes.Buffer
	buf.Write(bytes.TrimSuffix(bytes.TrimSpace(known), []byte("}")))
	for i, k := range keys {
		if i > 0 || !bytes.HasSuffix(bytes.TrimSpace(buf.Bytes()), []byte("{")) {
			buf.WriteByte(',')
		}
		kb, err := json.Marshal(k)
		if err != nil {
			return nil, err
		}
		if !json.Valid(extra[k]) {
			return nil, fmt.Errorf("extra field %q is not valid JSON", k)
		}
		buf.Write(kb)
		buf.WriteByte(':')
		buf.Write(extra[k])
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}
