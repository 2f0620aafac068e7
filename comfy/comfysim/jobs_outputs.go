package comfysim

import (
	"encoding/json"
	"strings"

	"github.com/comfygate/comfygate/comfy/comfyjson"
)

var (
	previewableMedia = []string{"images", "video", "audio", "3d", "text"}
	textExtensions   = []string{".txt", ".md", ".json"}
	extensions3D     = []string{".obj", ".fbx", ".gltf", ".glb", ".usdz"}
)

func hasSuffixAny(s string, suffixes []string) bool {
	s = strings.ToLower(s)
	for _, x := range suffixes {
		if strings.HasSuffix(s, x) {
			return true
		}
	}
	return false
}

func isPreviewable(media string, item comfyjson.Object) bool {
	for _, m := range previewableMedia {
		if media == m {
			return true
		}
	}
	if f, _ := item.Get("format"); f != nil {
		if s, _ := f.(string); strings.HasPrefix(s, "video/") || strings.HasPrefix(s, "audio/") {
			return true
		}
	}
	name, _ := item.Get("filename")
	s, _ := name.(string)
	return hasSuffixAny(s, extensions3D) || hasSuffixAny(s, textExtensions)
}

// outputsSummary is jobs.get_outputs_summary and count_previewable_outputs:
// file outputs counted, text strings only as a last-resort preview, and the
// preview picked as saved visual media, then other visual media, then a
// saved text file, then raw text.
func outputsSummary(outputs comfyjson.Object) (count, previewable int, preview json.RawMessage) {
	var best, fallback, textFile, text comfyjson.Object
	for _, node := range outputs {
		media, ok := node.Value.(comfyjson.Object)
		if !ok {
			continue
		}
		for _, m := range media {
			items, ok := m.Value.([]any)
			if m.Key == "animated" || !ok {
				continue
			}
			for _, raw := range items {
				item, isObj := raw.(comfyjson.Object)
				if !isObj {
					if s, isStr := raw.(string); isStr && m.Key == "text" && best == nil && text == nil {
						text = textPreview(s, node.Key)
					}
					continue
				}
				count++
				if isPreviewable(m.Key, item) {
					previewable++
				}
				if best != nil || !isPreviewable(m.Key, item) {
					continue
				}
				enriched := append(append(comfyjson.Object{}, item...), comfyjson.Member{Key: "nodeId", Value: node.Key})
				if !item.Has("mediaType") {
					enriched = append(enriched, comfyjson.Member{Key: "mediaType", Value: m.Key})
				}
				name, _ := item.Get("filename")
				fn, _ := name.(string)
				typ, _ := item.Get("type")
				switch {
				case m.Key == "text" || hasSuffixAny(fn, textExtensions):
					if textFile == nil {
						textFile = enriched
					}
				case typ == "output":
					best = enriched
				case fallback == nil:
					fallback = enriched
				}
			}
		}
	}
	for _, p := range []comfyjson.Object{best, fallback, textFile, text} {
		if p != nil {
			return count, previewable, comfyjson.MustDumps(p)
		}
	}
	return count, previewable, nil
}

func textPreview(s, nodeID string) comfyjson.Object {
	p := comfyjson.Object{{Key: "content", Value: s}}
	if r := []rune(s); len(r) > 1024 {
		p = comfyjson.Object{{Key: "content", Value: string(r[:1024])}, {Key: "truncated", Value: true}}
	}
	return append(p, comfyjson.Member{Key: "nodeId", Value: nodeID}, comfyjson.Member{Key: "mediaType", Value: "text"})
}
