package comfyapi

import (
	"encoding/json"
	"strings"

	"github.com/comfygate/comfygate/internal/artifact"
	"github.com/comfygate/comfygate/workflow"
)

// File inputs are staged by the use cases (gateway), which record the
// values the client gave in the job's ComfyMeta.Inputs; the helpers below
// show those values back in place of the staged names.

// clientGraph is the graph as the client wrote its file inputs: staged
// names are shown back under the names the client gave.
func clientGraph(graph json.RawMessage, inputs map[string]map[string]string) json.RawMessage {
	if len(inputs) == 0 || len(graph) == 0 {
		return graph
	}
	g, err := workflow.ParseGraph(graph, workflow.Limits{})
	if err != nil {
		return graph
	}
	for id, in := range inputs {
		if n := g[id]; n != nil {
			for name, v := range in {
				n.Inputs[name] = v
			}
		}
	}
	out, err := json.Marshal(g)
	if err != nil {
		return graph
	}
	return out
}

// stagedRenames maps each staged name in graph back to the value the
// client gave for it.
func stagedRenames(graph json.RawMessage, inputs map[string]map[string]string) map[string]string {
	if len(inputs) == 0 {
		return nil
	}
	g, err := workflow.ParseGraph(graph, workflow.Limits{})
	if err != nil {
		return nil
	}
	out := map[string]string{}
	for id, in := range inputs {
		n := g[id]
		if n == nil {
			continue
		}
		for name, client := range in {
			if staged, ok := n.Inputs[name].(string); ok && isStaged(staged) {
				out[staged] = client
			}
		}
	}
	return out
}

// unstage replaces staged names in a JSON text (an error message, the
// inputs it lists) with the client's names. Staged names need no JSON
// escaping, so replacing them in the encoded text is safe.
func unstage(data json.RawMessage, renames map[string]string) json.RawMessage {
	if len(renames) == 0 || !strings.Contains(string(data), artifact.StagedPrefix) {
		return data
	}
	s := string(data)
	for staged, client := range renames {
		enc, _ := json.Marshal(client)
		s = strings.ReplaceAll(s, staged, string(enc[1:len(enc)-1]))
	}
	return json.RawMessage(s)
}

// unstageText is unstage for plain text.
func unstageText(s string, renames map[string]string) string {
	for staged, client := range renames {
		s = strings.ReplaceAll(s, staged, client)
	}
	return s
}

func isStaged(v string) bool {
	_, _, ok := artifact.ParseStaged(v)
	return ok
}
