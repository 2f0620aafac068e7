package workflow

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"maps"
	"slices"

	"github.com/comfygate/comfygate/comfy/comfyjson"
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
		keys := slices.Sorted(maps.Keys(x))
		members := make([]rawMember, len(keys))
		for i, k := range keys {
			var vb bytes.Buffer
			writeCanonical(&vb, x[k])
			members[i] = rawMember{k, vb.Bytes()}
		}
		b.Write(writeObject(members))
	case []any:
		elems := make([][]byte, len(x))
		for i, e := range x {
			var eb bytes.Buffer
			writeCanonical(&eb, e)
			elems[i] = eb.Bytes()
		}
		b.WriteByte('[')
		b.Write(bytes.Join(elems, []byte{','}))
		b.WriteByte(']')
	case json.RawMessage:
		if decoded, err := comfyjson.Decode(x); err == nil {
			writeCanonical(b, comfyjson.Plain(decoded))
		}
	default:
		raw, err := comfyjson.Marshal(v)
		if err != nil {
			raw = []byte("null")
		}
		b.Write(raw)
	}
}
