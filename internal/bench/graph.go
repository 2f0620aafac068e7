package bench

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
)

// maxColor is EmptyImage's largest color (0xFFFFFF).
const maxColor = 1<<24 - 1

// builtinGraph is a small graph that needs no model and runs on ComfyUI
// and on the simulator: a 64x64 image of color n, inverted, saved. The
// color differs per job, so no job is answered from ComfyUI's cache.
func builtinGraph(n int64) json.RawMessage {
	return json.RawMessage(fmt.Sprintf(`{"1": {"class_type": "EmptyImage", "inputs": {"width": 64, "height": 64, "batch_size": 1, "color": %d}},
 "2": {"class_type": "ImageInvert", "inputs": {"image": ["1", 0]}},
 "3": {"class_type": "SaveImage", "inputs": {"images": ["2", 0], "filename_prefix": "comfygate-bench"}}}`, n%(maxColor+1)))
}

// seedInputs are the inputs varied per job in a graph of the user's.
var seedInputs = []string{"seed", "noise_seed"}

// graphSource makes each job's graph from a template: every literal
// "seed" or "noise_seed" input is set to the job's number, so that ComfyUI
// runs every job rather than answering it from its cache.
type graphSource struct {
	nodes map[string]map[string]any
	// varies reports whether the template has an input to vary.
	varies bool
}

func newGraphSource(graph json.RawMessage) (*graphSource, error) {
	var nodes map[string]map[string]any
	dec := json.NewDecoder(bytes.NewReader(graph))
	dec.UseNumber() // other numbers go back as they came
	if err := dec.Decode(&nodes); err != nil {
		return nil, fmt.Errorf("graph: not an API-format graph (an object of nodes): %w", err)
	}
	if len(nodes) == 0 {
		return nil, fmt.Errorf("graph: no nodes")
	}
	g := &graphSource{nodes: nodes}
	g.each(func(inputs map[string]any, name string) { g.varies = true })
	return g, nil
}

// each calls f for every seed input holding a number.
func (g *graphSource) each(f func(inputs map[string]any, name string)) {
	for _, node := range g.nodes {
		inputs, _ := node["inputs"].(map[string]any)
		for _, name := range seedInputs {
			if _, ok := inputs[name].(json.Number); ok {
				f(inputs, name)
			}
		}
	}
}

// graph returns the template with the seeds set to n. Not safe for
// concurrent use: the caller serialises.
func (g *graphSource) graph(n int64) (json.RawMessage, error) {
	g.each(func(inputs map[string]any, name string) { inputs[name] = json.Number(strconv.FormatInt(n, 10)) })
	return json.Marshal(g.nodes)
}
