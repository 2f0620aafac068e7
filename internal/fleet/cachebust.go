package fleet

import (
	"encoding/json"

	"github.com/comfygate/comfygate/internal/job"
)

// ComfyUI answers an identical re-submission from its cache: output nodes
// report the file names of the earlier run and write nothing. Copying every
// output into our content-addressed store at the end of each job makes that
// harmless, as long as the earlier files can still be read (or were copied
// by this process, see Backend.files). When neither holds, the job is
// retried once with a cache-busting input: the attempt that found its
// outputs gone ends with outcome "outputs_gone", and the next attempt adds
// an input "comfygate_nonce" (its own prompt id) to every sink node.
// ComfyUI's cache key includes every input of a node, so those nodes (and
// only those) run again and write new files, while everything upstream is
// still served from cache; validation and execution ignore inputs a node
// does not declare.

// nonceInput is the input added to sink nodes to defeat the cache.
const nonceInput = "comfygate_nonce"

// needsCacheBust reports whether the previous attempt of j found its
// outputs gone from the backend.
func needsCacheBust(j *job.Job) bool {
	n := len(j.AttemptLog)
	return n >= 2 && j.AttemptLog[n-2].Outcome == outcomeOutputsGone
}

// bustCache returns graph with nonce set on every sink node (a node no other
// node links to). On any decoding problem it returns graph unchanged: the
// prompt then fails or succeeds on its own merits.
func bustCache(graph json.RawMessage, nonce string) json.RawMessage {
	var nodes map[string]map[string]json.RawMessage
	if json.Unmarshal(graph, &nodes) != nil {
		return graph
	}
	inputs := make(map[string]map[string]json.RawMessage, len(nodes))
	linked := map[string]bool{}
	for id, n := range nodes {
		var in map[string]json.RawMessage
		if json.Unmarshal(n["inputs"], &in) != nil || in == nil {
			in = map[string]json.RawMessage{}
		}
		inputs[id] = in
		for _, v := range in {
			if src, ok := rawLinkSource(v); ok {
				linked[src] = true
			}
		}
	}
	quoted, _ := json.Marshal(nonce)
	for id, n := range nodes {
		if linked[id] || n == nil {
			continue // a null node is ComfyUI's to reject
		}
		inputs[id][nonceInput] = quoted
		raw, err := json.Marshal(inputs[id])
		if err != nil {
			return graph
		}
		n["inputs"] = raw
	}
	out, err := json.Marshal(nodes)
	if err != nil {
		return graph
	}
	return out
}

// rawLinkSource returns the source node id of a link ["id", slot].
func rawLinkSource(v json.RawMessage) (string, bool) {
	var pair []json.RawMessage
	if json.Unmarshal(v, &pair) != nil || len(pair) != 2 {
		return "", false
	}
	var id string
	if json.Unmarshal(pair[0], &id) != nil {
		return "", false
	}
	var slot json.Number
	if json.Unmarshal(pair[1], &slot) != nil {
		return "", false
	}
	return id, true
}
