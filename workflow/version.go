package workflow

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"slices"
)

// Version returns a content hash of the graph, "sha256:<hex>", over its
// canonical JSON: object keys sorted at every level, no insignificant
// white space, numbers as written. Key order and formatting of the source
// do not change it; any change of a node, input value or title does.
func Version(g Graph) string {
	var b bytes.Buffer
	writeCanonical(&b, g.canonical())
	sum := sha256.Sum256(b.Bytes())
	return "sha256:" + hex.EncodeToString(sum[:])
}

func (g Graph) canonical() map[string]any {
	out := make(map[string]any, len(g))
	for id, n := range g {
		if n == nil {
			out[id] = nil
			continue
		}
		node := map[string]any{"class_type": n.ClassType, "inputs": n.Inputs}
		if n.Meta != nil {
			node["_meta"] = n.Meta
		}
		for k, raw := range n.extra {
			node[k] = raw
		}
		out[id] = node
	}
	return out
}

func writeCanonical(b *bytes.Buffer, v any) {
	switch x := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteByte(',')
			}
			writeJSONString(b, k)
			b.WriteByte(':')
			writeCanonical(b, x[k])
		}
		b.WriteByte('}')
	case []any:
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteByte(',')
			}
			writeCanonical(b, e)
		}
		b.WriteByte(']')
	case json.RawMessage:
		var decoded any
		dec := json.NewDecoder(bytes.NewReader(x))
		dec.UseNumber()
		if dec.Decode(&decoded) == nil {
			writeCanonical(b, decoded)
		}
	default:
		raw, err := marshalValue(v)
		if err != nil {
			raw = []byte("null")
		}
		b.Write(raw)
	}
}
