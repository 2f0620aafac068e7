package comfysim

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"slices"
	"sort"

	"github.com/comfygate/comfygate/comfy/comfyjson"
	"github.com/comfygate/comfygate/comfy/comfysim/internal/nodes"
	"github.com/comfygate/comfygate/internal/comfywire"
	"github.com/comfygate/comfygate/workflow"
	"github.com/comfygate/comfygate/workflow/corenodes"
)

// saveImageWebsocketDef is the definition of the SaveImageWebsocket node
// that ComfyUI ships in custom_nodes/websocket_image_save.py. The core-node
// dump does not have it (custom nodes were off), but a stock install loads
// it, and API clients use it to receive images over the socket.
const saveImageWebsocketDef = `{"input": {"required": {"images": ["IMAGE"]}}, "input_order": {"required": ["images"]}, "output": [], "output_is_list": [], "output_name": [], "name": "SaveImageWebsocket", "display_name": "SaveImageWebsocket", "description": "", "python_module": "custom_nodes.websocket_image_save", "category": "api/image", "output_node": true}`

// models returns the model lists the simulator pretends to have.
func (o Options) models() corenodes.Models {
	m := corenodes.DefaultModels()
	if o.Checkpoints != nil {
		m.Checkpoints = o.Checkpoints
	}
	if o.Loras != nil {
		m.Loras = o.Loras
	}
	if o.VAEs != nil {
		m.VAE = o.VAEs
	}
	return m
}

// setupCatalog builds the validation catalog once. LoadImage's file list is
// left empty there: its own validator checks files, not the combo.
func (s *Server) setupCatalog() error {
	info := s.objectInfoJSON(nil)
	c, err := workflow.ParseObjectInfo(info)
	if err != nil {
		return fmt.Errorf("comfysim: node definitions: %w", err)
	}
	s.catalog = c
	return nil
}

// objectInfoJSON is the GET /object_info body, with the given input files
// (nil: none) in the loaders' lists.
func (s *Server) objectInfoJSON(inputs []string) []byte {
	if s.opts.ObjectInfo != nil {
		return s.opts.ObjectInfo
	}
	m := s.opts.models()
	m.Inputs = inputs
	if m.Inputs == nil {
		m.Inputs = []string{}
	}
	info := corenodes.ObjectInfo(m)
	return appendDefinition(info, "SaveImageWebsocket", saveImageWebsocketDef)
}

// appendDefinition adds "name": def at the end of an object_info body.
func appendDefinition(info []byte, name, def string) []byte {
	end := bytes.LastIndexByte(info, '}')
	if end < 0 || bytes.Contains(info, []byte(`"`+name+`": `)) {
		return info
	}
	out := append([]byte{}, info[:end]...)
	if len(bytes.TrimSpace(out)) > 1 {
		out = append(out, ", "...)
	}
	out = append(out, comfyjson.MustDumps(name)...)
	out = append(out, ": "...)
	out = append(out, def...)
	return append(out, '}')
}

// inputFiles lists the top-level files of the input directory, sorted.
func (s *Server) inputFiles() []string {
	entries, err := os.ReadDir(s.dir("input"))
	if err != nil {
		return []string{}
	}
	files := []string{}
	for _, e := range entries {
		if e.Type().IsRegular() {
			files = append(files, e.Name())
		}
	}
	sort.Strings(files)
	return files
}

// inputFileExists is folder_paths.exists_annotated_filepath, limited to the
// simulator's own directories.
func (s *Server) inputFileExists(name string) bool {
	path, kind := annotated(name)
	if kind == "" {
		kind = "input"
	}
	full := s.dir(kind) + "/" + path
	if !nodes.Within(s.dataDir, full) {
		return false
	}
	_, err := os.Stat(full)
	return err == nil
}

func (s *Server) handleObjectInfo(w http.ResponseWriter, _ *http.Request, _ map[string]string) {
	comfywire.WriteJSONBytes(w, http.StatusOK, s.objectInfoJSON(s.inputFiles()))
}

func (s *Server) handleObjectInfoClass(w http.ResponseWriter, _ *http.Request, p map[string]string) {
	name := p["node_class"]
	if _, ok := s.catalog.Class(name); !ok {
		comfywire.WriteJSONBytes(w, http.StatusOK, []byte("{}"))
		return
	}
	c, err := workflow.ParseObjectInfo(s.objectInfoJSON(s.inputFiles()))
	if err != nil {
		internalError(w)
		return
	}
	nc, _ := c.Class(name)
	var b bytes.Buffer
	b.WriteByte('{')
	b.Write(comfyjson.MustDumps(name))
	b.WriteString(": ")
	b.Write(nc.Raw)
	b.WriteByte('}')
	comfywire.WriteJSONBytes(w, http.StatusOK, b.Bytes())
}

// modelFolders is ComfyUI 0.3.64's folder_names_and_paths keys, in order.
var modelFolders = []string{"checkpoints", "configs", "loras", "vae", "text_encoders", "diffusion_models",
	"clip_vision", "style_models", "embeddings", "diffusers", "vae_approx", "controlnet", "gligen",
	"upscale_models", "custom_nodes", "hypernetworks", "photomaker", "classifiers", "model_patches",
	"audio_encoders"}

func (s *Server) modelList(folder string) []string {
	m := s.opts.models()
	var list []string
	switch folder {
	case "checkpoints":
		list = m.Checkpoints
	case "loras":
		list = m.Loras
	case "vae":
		list = m.VAE
	case "embeddings":
		list = s.opts.Embeddings
	}
	list = slices.Clone(list)
	slices.Sort(list)
	if list == nil {
		list = []string{}
	}
	return list
}
