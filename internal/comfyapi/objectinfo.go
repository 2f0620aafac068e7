package comfyapi

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"

	"github.com/comfygate/comfygate/workflow"
)

// uploadListing are the classes whose file list shows the caller's input
// directory (ComfyUI lists its input folder's images there).
var uploadListing = map[string]string{"LoadImage": "image", "LoadImageMask": "image"}

// getObjectInfo is GET /object_info: the fleet's merged catalog, with the
// caller's uploads in LoadImage's file list.
func (h *Handler) getObjectInfo(c *call) error {
	cat := h.gw.Catalog()
	if cat == nil {
		writeJSONBytes(c.w, http.StatusOK, []byte("{}"))
		return nil
	}
	uploads, err := h.uploadList(c.r.Context(), c.owner)
	if err != nil {
		return failed("listing uploads", err)
	}
	var b bytes.Buffer
	b.WriteByte('{')
	for i, name := range cat.Names() {
		nc, _ := cat.Class(name)
		if i > 0 {
			b.WriteString(", ")
		}
		k, _ := json.Marshal(name)
		b.Write(k)
		b.WriteString(": ")
		b.Write(withUploads(nc, uploads))
	}
	b.WriteByte('}')
	writeJSONBytes(c.w, http.StatusOK, b.Bytes())
	return nil
}

// getObjectInfoClass is GET /object_info/{node_class}: {} for an unknown
// class, as ComfyUI answers.
func (h *Handler) getObjectInfoClass(c *call) error {
	name := c.params["node_class"]
	cat := h.gw.Catalog()
	var nc *workflow.NodeClass
	if cat != nil {
		nc, _ = cat.Class(name)
	}
	if nc == nil {
		writeJSONBytes(c.w, http.StatusOK, []byte("{}"))
		return nil
	}
	var uploads []string
	if _, ok := uploadListing[name]; ok {
		var err error
		if uploads, err = h.uploadList(c.r.Context(), c.owner); err != nil {
			return failed("listing uploads", err)
		}
	}
	k, _ := json.Marshal(name)
	writeJSONBytes(c.w, http.StatusOK, append(append(append([]byte("{"), k...), ": "...), append(withUploads(nc, uploads), '}')...))
	return nil
}

// uploadList is the caller's top-level input files that are images, as
// ComfyUI's LoadImage lists its input folder.
func (h *Handler) uploadList(ctx context.Context, owner string) ([]string, error) {
	names, err := h.names.inputNames(ctx, owner)
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(names, func(n string) bool {
		return !strings.HasPrefix(viewContentType(n), "image/")
	}), nil
}

// withUploads returns nc's definition, with uploads merged into the file
// list of classes that show the input folder.
func withUploads(nc *workflow.NodeClass, uploads []string) json.RawMessage {
	input, ok := uploadListing[nc.Name]
	if !ok || len(uploads) == 0 {
		return nc.Raw
	}
	in, ok := nc.Input(input)
	if !ok || !in.Classic {
		return nc.Raw
	}
	var def map[string]json.RawMessage
	var sections map[string]map[string]json.RawMessage
	if json.Unmarshal(nc.Raw, &def) != nil || json.Unmarshal(def["input"], &sections) != nil {
		return nc.Raw
	}
	var spec []json.RawMessage
	if json.Unmarshal(sections[in.Section][input], &spec) != nil || len(spec) == 0 {
		return nc.Raw
	}
	var values []string
	for _, v := range in.Values {
		if s, ok := v.(string); ok {
			values = append(values, s)
		}
	}
	for _, u := range uploads {
		if !slices.Contains(values, u) {
			values = append(values, u)
		}
	}
	slices.Sort(values)
	spec[0], _ = json.Marshal(values)
	sections[in.Section][input], _ = json.Marshal(spec)
	def["input"], _ = json.Marshal(sections)
	out, err := json.Marshal(def)
	if err != nil {
		return nc.Raw
	}
	return out
}
