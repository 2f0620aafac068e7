package comfyapi

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/comfygate/comfygate/internal/artifact"
	"github.com/comfygate/comfygate/workflow"
)

// fileInputs are the node inputs that name a file in a backend's input
// directory: values naming an upload of this surface are staged.
var fileInputs = map[string][]string{
	"LoadImage":       {"image"},
	"LoadImageMask":   {"image"},
	"LoadImageOutput": {"image"},
	"LoadVideo":       {"file"},
	"LoadAudio":       {"audio"},
	"VHS_LoadVideo":   {"video"},
}

// stageInputs rewrites file inputs that name a file of this surface (an
// upload, or an output shown as "name [output]") into the staged name of
// its artifact, which the fleet uploads to whichever backend runs the job.
// It returns the values the client sent, to show them back in /queue and
// /history.
func (h *Handler) stageInputs(ctx context.Context, owner string, g workflow.Graph) (map[string]map[string]string, error) {
	var orig map[string]map[string]string
	for _, id := range g.IDs() {
		n := g[id]
		for _, input := range fileInputs[n.ClassType] {
			v, ok := n.Inputs[input].(string)
			if !ok || isStaged(v) {
				continue
			}
			if escapesDir(v) {
				return nil, &submitError{msg: "Invalid file name", details: fmt.Sprintf("node %s input %s: %q may not leave the input directory", id, input, v)}
			}
			staged, ok, err := h.stagedFor(ctx, owner, v)
			if err != nil {
				return nil, err
			}
			if !ok {
				continue // a file the backends have themselves
			}
			n.Inputs[input] = staged
			if orig == nil {
				orig = map[string]map[string]string{}
			}
			if orig[id] == nil {
				orig[id] = map[string]string{}
			}
			orig[id][input] = v
		}
	}
	return orig, nil
}

// stagedFor returns the staged name of the file a LoadImage-style value
// names ("photo.png", "sub/photo.png", "x.png [output]"), if it is one of
// the owner's files.
func (h *Handler) stagedFor(ctx context.Context, owner, value string) (string, bool, error) {
	art, ok, err := h.names.resolveValue(ctx, owner, value)
	if err != nil || !ok {
		return "", false, err
	}
	info, err := h.cfg.Artifacts.Stat(ctx, art)
	if err != nil {
		return "", false, nil // the blob is gone: leave the name to the backends
	}
	return artifact.StagedName(art, info.ContentType), true, nil
}

// escapesDir reports names that could reach outside a backend's input
// directory; ComfyUI's loaders only check that the file exists.
func escapesDir(v string) bool {
	p, _ := workflow.SplitAnnotated(v)
	return strings.Contains(p, "..") || strings.HasPrefix(p, "/") || strings.HasPrefix(p, `\`) ||
		(len(p) > 1 && p[1] == ':') || strings.ContainsRune(p, 0)
}

// inputExists answers LoadImage's own validation ("Invalid image file")
// for the owner: an upload of this surface, a staged artifact, or a file
// a backend lists in its input directory.
func (h *Handler) inputExists(ctx context.Context, owner string, cat *workflow.Catalog) func(string) bool {
	listed := backendInputs(cat)
	return func(name string) bool {
		if id, _, staged := artifact.ParseStaged(name); staged {
			ok, err := h.cfg.Artifacts.Exists(ctx, id)
			return err == nil && ok
		}
		if _, ok, err := h.names.resolveValue(ctx, owner, name); err == nil && ok {
			return true
		}
		return slices.Contains(listed, name)
	}
}

// backendInputs are the input files the backends list for LoadImage.
func backendInputs(cat *workflow.Catalog) []string {
	nc, ok := cat.Class("LoadImage")
	if !ok {
		return nil
	}
	in, ok := nc.Input("image")
	if !ok {
		return nil
	}
	out := make([]string, 0, len(in.Values))
	for _, v := range in.Values {
		if s, ok := v.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

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
