package fleet

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"

	"github.com/comfygate/comfygate/comfy/comfyjson"
	"github.com/comfygate/comfygate/internal/job"
)

// ComfyUI's save nodes find the next file counter by listing their whole
// target folder on every save (folder_paths.get_save_image_path): 6.4 ms
// per save once the shared output folder holds 3,000 files. Outputs
// therefore go into folders of comfygate's own, job.OutputFolder, by
// putting one in front of the save nodes' filename_prefix when the prompt
// is posted. ComfyUI takes the prefix's directory part as the subfolder it
// saves in and reports, so files land in "comfygate/<key>/<the graph's
// folder>"; the job record keeps that, and surfaces show
// job.ClientSubfolder.
//
// The key is derived from the graph (outputKey), not from the job: the
// prefix joins the save node's cache key in ComfyUI, and an identical
// graph must still be answered from ComfyUI's cache (no work at all) as
// it is without comfygate. A folder thus holds the files of one graph,
// a handful at most.

// prefixInput is the input naming where a save node writes.
const prefixInput = "filename_prefix"

// folderSaveNodes are ComfyUI's core nodes (0.3.64) that save with
// get_save_image_path under the output directory and report each file with
// the subfolder it returned. Only they are redirected: a node that saves
// without reporting (CheckpointSave, LoraSave) keeps writing where its
// users look for the file, and a custom node may use the prefix otherwise.
var folderSaveNodes = map[string]bool{
	"SaveImage": true, "SaveLatent": true, "SaveAnimatedWEBP": true, "SaveAnimatedPNG": true,
	"SaveSVGNode": true, "SaveAudio": true, "SaveAudioMP3": true, "SaveAudioOpus": true,
	"SaveVideo": true, "SaveWEBM": true, "SaveGLB": true,
}

// outputKey is the key of graph's output folder for the process instance:
// equal graphs share a folder, so ComfyUI's cache answers them; other
// processes (replicas, this one after a restart with another InstanceID)
// use folders of their own, so none removes a folder another writes in.
func outputKey(instance string, graph []byte) string {
	h := sha256.New()
	h.Write([]byte(instance))
	h.Write([]byte{0})
	h.Write(graph)
	return hex.EncodeToString(h.Sum(nil)[:job.OutputKeyLen/2])
}

// intoFolder returns graph with the filename_prefix of each save node
// (classOf maps node ids to classes) moved into folder. Node order and
// every other byte of a node are kept; a graph it cannot read is returned
// unchanged, for ComfyUI to judge.
func intoFolder(graph json.RawMessage, classOf map[string]string, folder string) json.RawMessage {
	if !hasFolderSaveNode(classOf) {
		return graph
	}
	var keys []string
	var nodes []json.RawMessage
	err := comfyjson.DecodeMembers(graph, func(k string, v json.RawMessage) {
		keys, nodes = append(keys, k), append(nodes, v)
	})
	if err != nil {
		return graph
	}
	changed := false
	for i, k := range keys {
		if folderSaveNodes[classOf[k]] {
			if n, ok := withPrefixIn(nodes[i], folder); ok {
				nodes[i], changed = n, true
			}
		}
	}
	if !changed {
		return graph
	}
	out, err := comfyjson.MarshalMembers(len(keys), func(i int) (string, any) { return keys[i], nodes[i] })
	if err != nil {
		return graph
	}
	return out
}

func hasFolderSaveNode(classOf map[string]string) bool {
	for _, c := range classOf {
		if folderSaveNodes[c] {
			return true
		}
	}
	return false
}

// withPrefixIn rewrites one node's literal filename_prefix; ok is false
// when there is none or it may not be moved.
func withPrefixIn(node json.RawMessage, folder string) (json.RawMessage, bool) {
	return rewriteMember(node, "inputs", func(inputs json.RawMessage) (json.RawMessage, bool) {
		return rewriteMember(inputs, prefixInput, func(v json.RawMessage) (json.RawMessage, bool) {
			var prefix string
			if json.Unmarshal(v, &prefix) != nil || !movablePrefix(prefix) {
				return nil, false // a link, or a prefix ComfyUI must judge as sent
			}
			out, err := json.Marshal(folder + "/" + prefix)
			return out, err == nil
		})
	})
}

// rewriteMember replaces the value of key in the JSON object obj with what
// edit makes of it, keeping the other members as they are.
func rewriteMember(obj json.RawMessage, key string, edit func(json.RawMessage) (json.RawMessage, bool)) (json.RawMessage, bool) {
	var keys []string
	var vals []json.RawMessage
	if comfyjson.DecodeMembers(obj, func(k string, v json.RawMessage) { keys, vals = append(keys, k), append(vals, v) }) != nil {
		return nil, false
	}
	changed := false
	for i, k := range keys {
		if k == key {
			if v, ok := edit(vals[i]); ok {
				vals[i], changed = v, true
			}
		}
	}
	if !changed {
		return nil, false
	}
	out, err := comfyjson.MarshalMembers(len(keys), func(i int) (string, any) { return keys[i], vals[i] })
	return out, err == nil
}

// movablePrefix reports whether prefix names a place inside the output
// directory that stays the same below the folder. A prefix that climbs
// out ("..") or is absolute makes ComfyUI refuse the save; below the
// folder it would be accepted, or land elsewhere, so it is sent as it is.
// So is one with no name at all ("", "."), whose meaning would change.
// Both separators count, for backends on Windows.
func movablePrefix(prefix string) bool {
	if prefix == "" || prefix[0] == '/' || prefix[0] == '\\' || (len(prefix) > 1 && prefix[1] == ':') {
		return false
	}
	named := false
	for _, part := range strings.FieldsFunc(prefix, func(r rune) bool { return r == '/' || r == '\\' }) {
		switch part {
		case "..":
			return false
		case ".":
		default:
			named = true
		}
	}
	return named
}
