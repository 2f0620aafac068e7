package fleet

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/comfygate/comfygate/internal/artifact"
)

// Requirements is what a backend must offer to run a graph, and the keys
// placement uses to prefer a backend that is already warm for it.
type Requirements struct {
	// Classes are the node class types of the graph, sorted, unique.
	Classes []string
	// Models are the model files the graph names, in node id order.
	Models []ModelRef
	// Inputs are the staged input files (artifacts) the graph names.
	Inputs []StagedInput
	// ModelKey identifies the set of model files (warm VRAM).
	ModelKey string
	// PrefixKey identifies the graph's source nodes (nodes without links):
	// a backend that last ran the same prefix has them in ComfyUI's cache.
	PrefixKey string
	// firstNode maps a class to the first node (in id order) of that class.
	firstNode map[string]string
	// classOf maps every node id to its class (for event payloads).
	classOf map[string]string
	// steps are the step counts the graph gives its nodes (see stepHints),
	// for weighting progress.
	steps map[string]float64
}

// nodeOf returns the first node id of class.
func (r *Requirements) nodeOf(class string) string { return r.firstNode[class] }

// ModelRef is one model file named by a loader input.
type ModelRef struct {
	NodeID string
	Class  string
	Input  string
	Name   string
}

func (m ModelRef) String() string {
	return fmt.Sprintf("model %q (%s of node %s)", m.Name, m.Input, m.NodeID)
}

// StagedInput is a graph input naming an artifact that must be uploaded to
// the backend before the prompt is sent: "comfygate/<sha256>.<ext>".
type StagedInput struct {
	Value string // the input value as written in the graph
	Hash  string // 64 lowercase hex
	Ext   string // without the dot
}

// Filename is the name the file gets on the backend, in subfolder stagedSubfolder.
func (s StagedInput) Filename() string { return s.Hash + "." + s.Ext }

const stagedSubfolder = "comfygate"

// modelInputs are loader inputs that name model files in every ComfyUI
// version we know. Custom loaders are caught by modelInputLike.
var modelInputs = map[string]bool{
	"ckpt_name": true, "lora_name": true, "vae_name": true, "unet_name": true,
	"clip_name": true, "clip_name1": true, "clip_name2": true, "clip_name3": true,
	"clip_name4": true, "control_net_name": true, "upscale_model_name": true,
	"style_model_name": true, "gligen_name": true, "hypernetwork_name": true,
	"clip_vision_name": true, "model_name": true, "photomaker_model_name": true,
}

var modelExts = []string{".safetensors", ".ckpt", ".pt", ".pth", ".bin", ".gguf", ".sft", ".pt2", ".onnx"}

// modelInputLike reports whether input name/value look like a model file
// reference: a known loader input, or any "*_name" input whose value has a
// model file extension.
func modelInputLike(name, value string) bool {
	if modelInputs[name] {
		return true
	}
	if !strings.HasSuffix(name, "_name") {
		return false
	}
	lower := strings.ToLower(value)
	return slices.ContainsFunc(modelExts, func(ext string) bool { return strings.HasSuffix(lower, ext) })
}

// graphNode is the part of an API-format node that requirements look at.
type graphNode struct {
	ClassType string         `json:"class_type"`
	Inputs    map[string]any `json:"inputs"`
}

// requirementsFromJSON reads the requirements of an API-format graph.
func requirementsFromJSON(graph json.RawMessage) (*Requirements, error) {
	var nodes map[string]graphNode
	if err := json.Unmarshal(graph, &nodes); err != nil {
		return nil, fmt.Errorf("decode graph: %w", err)
	}
	return requirementsOf(nodes), nil
}

// requirementsOf computes the requirements of nodes (node id → node).
func requirementsOf(nodes map[string]graphNode) *Requirements {
	req := &Requirements{firstNode: map[string]string{}, classOf: make(map[string]string, len(nodes))}
	var prefix []string
	for _, id := range sortedNodeIDs(nodes) {
		n := nodes[id]
		req.classOf[id] = n.ClassType
		if _, seen := req.firstNode[n.ClassType]; !seen {
			req.firstNode[n.ClassType] = id
		}
		req.addInputs(id, n)
		if src, ok := sourceSignature(n); ok {
			prefix = append(prefix, src)
		}
	}
	req.steps = stepHints(nodes)
	req.Classes = sortedKeys(req.firstNode)
	req.ModelKey = modelKey(req.Models)
	if len(prefix) > 0 {
		slices.Sort(prefix)
		req.PrefixKey = shortHash(strings.Join(prefix, "\n"))
	}
	return req
}

func (r *Requirements) addInputs(id string, n graphNode) {
	for _, name := range sortedKeys(n.Inputs) {
		s, ok := n.Inputs[name].(string)
		if !ok {
			continue
		}
		if hash, ext, ok := artifact.ParseStaged(s); ok {
			if !slices.ContainsFunc(r.Inputs, func(in StagedInput) bool { return in.Value == s }) {
				r.Inputs = append(r.Inputs, StagedInput{Value: s, Hash: hash, Ext: ext})
			}
			continue
		}
		if s != "" && modelInputLike(name, s) {
			r.Models = append(r.Models, ModelRef{NodeID: id, Class: n.ClassType, Input: name, Name: s})
		}
	}
}

// sourceSignature returns a canonical text of a node without links (a
// loader, an empty latent, …), or false for a node fed by another.
func sourceSignature(n graphNode) (string, bool) {
	for _, v := range n.Inputs {
		if isLink(v) {
			return "", false
		}
	}
	b, err := json.Marshal(n.Inputs) // map keys come out sorted
	if err != nil {
		return "", false
	}
	return n.ClassType + " " + string(b), true
}

// isLink reports whether v is an API-format link: ["<node id>", <index>].
func isLink(v any) bool {
	l, ok := v.([]any)
	if !ok || len(l) != 2 {
		return false
	}
	_, isStr := l[0].(string)
	switch l[1].(type) {
	case float64, json.Number:
		return isStr
	}
	return false
}

func modelKey(models []ModelRef) string {
	if len(models) == 0 {
		return ""
	}
	names := make([]string, 0, len(models))
	for _, m := range models {
		names = append(names, m.Name)
	}
	slices.Sort(names)
	return strings.Join(slices.Compact(names), "\x00")
}

func shortHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:8])
}

func sortedNodeIDs(nodes map[string]graphNode) []string {
	ids := make([]string, 0, len(nodes))
	for id := range nodes {
		ids = append(ids, id)
	}
	slices.SortFunc(ids, compareNodeIDs)
	return ids
}

// compareNodeIDs orders numeric ids numerically ("2" < "10"), others after
// them as text, so error messages name the first node a reader would look at.
func compareNodeIDs(a, b string) int {
	da, db := isDigits(a), isDigits(b)
	switch {
	case da && !db:
		return -1
	case db && !da:
		return 1
	case da && db && len(a) != len(b):
		return len(a) - len(b)
	}
	return strings.Compare(a, b)
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
