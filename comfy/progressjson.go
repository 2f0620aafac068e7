package comfy

import (
	"encoding/json"
	"slices"
)

// progress_state is the most frequent and the largest message of a run: a
// snapshot of every node so far, sent at each node's start and end (so its
// cost grows with the square of the graph's size). A gateway decodes each
// one from the backend and encodes it again for its client, so both
// directions have a fast path here for the shape ComfyUI writes, without
// reflection. Anything else (escapes, non-ASCII, odd keys, duplicates,
// nulls where ComfyUI writes none) goes through encoding/json, which the
// fast paths agree with (the fuzzers check it).

// decodeProgressState decodes a progress_state's data; ok is false when it
// is not in the plain shape.
func decodeProgressState(data []byte) (ProgressState, bool) {
	s := scanner{b: data}
	var p ProgressState
	var seen uint8
	ok := s.object(func(key []byte) bool {
		switch {
		case string(key) == "prompt_id" && seen&1 == 0:
			seen |= 1
			p.PromptID = s.str()
		case string(key) == "nodes" && seen&2 == 0:
			seen |= 2
			p.Nodes = map[string]NodeProgress{}
			return s.object(func(key []byte) bool {
				id := string(key)
				if _, dup := p.Nodes[id]; dup {
					return false
				}
				n, ok := s.nodeProgress()
				p.Nodes[id] = n
				return ok
			})
		default:
			return false
		}
		return s.good()
	})
	if !ok || !s.end() {
		return ProgressState{}, false
	}
	return p, true
}

// nodeProgress decodes one node of a progress_state.
func (s *scanner) nodeProgress() (NodeProgress, bool) {
	var n NodeProgress
	var seen uint8
	ok := s.object(func(key []byte) bool {
		bit := nodeFieldBit(key)
		if bit == 0 || seen&bit != 0 {
			return false
		}
		seen |= bit
		switch bit {
		case fieldValue:
			n.Value = json.Number(s.number())
		case fieldMax:
			n.Max = json.Number(s.number())
		case fieldState:
			n.State = s.str()
		case fieldNodeID:
			n.NodeID = s.str()
		case fieldPromptID:
			n.PromptID = s.str()
		case fieldDisplayNodeID:
			n.DisplayNodeID = s.str()
		case fieldParentNodeID:
			if !s.null() {
				v := s.str()
				n.ParentNodeID = &v
			}
		case fieldRealNodeID:
			n.RealNodeID = s.str()
		}
		return s.good()
	})
	return n, ok
}

// The fields of NodeProgress, as bits of a set of keys seen.
const (
	fieldValue uint8 = 1 << iota
	fieldMax
	fieldState
	fieldNodeID
	fieldPromptID
	fieldDisplayNodeID
	fieldParentNodeID
	fieldRealNodeID
)

// nodeFieldBit is the field a NodeProgress key names exactly, or 0.
func nodeFieldBit(key []byte) uint8 {
	switch string(key) {
	case "value":
		return fieldValue
	case "max":
		return fieldMax
	case "state":
		return fieldState
	case "node_id":
		return fieldNodeID
	case "prompt_id":
		return fieldPromptID
	case "display_node_id":
		return fieldDisplayNodeID
	case "parent_node_id":
		return fieldParentNodeID
	case "real_node_id":
		return fieldRealNodeID
	}
	return 0
}

// appendProgressState appends a progress_state message as EncodeMessage
// writes it; ok is false when a value needs encoding/json (a string to
// escape, a number to check).
func appendProgressState(b []byte, p ProgressState) ([]byte, bool) {
	b = slices.Grow(b, 96+256*len(p.Nodes))
	b = append(b, `{"type":"progress_state","data":{"prompt_id":`...)
	b, ok := appendPlain(b, p.PromptID)
	b = append(b, `,"nodes":{`...)
	ids := make([]string, 0, len(p.Nodes))
	for id := range p.Nodes {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for i, id := range ids {
		if i > 0 {
			b = append(b, ',')
		}
		b, ok = appendNode(b, id, p.Nodes[id], ok)
	}
	return append(b, "}}}"...), ok
}

func appendNode(b []byte, id string, n NodeProgress, ok bool) ([]byte, bool) {
	var good [9]bool
	b, good[0] = appendPlain(b, id)
	b = append(b, `:{"value":`...)
	b, good[1] = appendNumber(b, string(n.Value))
	b = append(b, `,"max":`...)
	b, good[2] = appendNumber(b, string(n.Max))
	b = append(b, `,"state":`...)
	b, good[3] = appendPlain(b, n.State)
	b = append(b, `,"node_id":`...)
	b, good[4] = appendPlain(b, n.NodeID)
	b = append(b, `,"prompt_id":`...)
	b, good[5] = appendPlain(b, n.PromptID)
	b = append(b, `,"display_node_id":`...)
	b, good[6] = appendPlain(b, n.DisplayNodeID)
	b = append(b, `,"parent_node_id":`...)
	good[7] = true
	if n.ParentNodeID == nil {
		b = append(b, "null"...)
	} else {
		b, good[7] = appendPlain(b, *n.ParentNodeID)
	}
	b = append(b, `,"real_node_id":`...)
	b, good[8] = appendPlain(b, n.RealNodeID)
	b = append(b, '}')
	return b, ok && !slices.Contains(good[:], false)
}

// appendPlain appends s quoted; ok is false unless s is printable ASCII
// that encoding/json writes as it is (no quote, backslash or <, >, &,
// which it escapes for HTML).
func appendPlain(b []byte, s string) ([]byte, bool) {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			return b, false
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"'), true
}

// appendNumber appends a json.Number as encoding/json does ("" is 0); ok
// is false for a literal that is not a JSON number.
func appendNumber(b []byte, n string) ([]byte, bool) {
	if n == "" {
		return append(b, '0'), true
	}
	s := scanner{b: []byte(n)}
	if s.number() != n || !s.end() {
		return b, false
	}
	return append(b, n...), true
}
