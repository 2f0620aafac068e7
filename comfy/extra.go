package comfy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
)

// unknownFields returns the keys of the JSON object data that are not fields
// of the struct v (by json tag), or nil when there are none.
func unknownFields(data []byte, v any) (map[string]json.RawMessage, error) {
	var all map[string]json.RawMessage
	if err := json.Unmarshal(data, &all); err != nil {
		return nil, err
	}
	for _, k := range jsonFieldNames(reflect.TypeOf(v)) {
		delete(all, k)
	}
	if len(all) == 0 {
		return nil, nil
	}
	return all, nil
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
