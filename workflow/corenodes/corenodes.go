package corenodes

import (
	_ "embed"
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/comfygate/comfygate/comfy/comfyjson"
	"github.com/comfygate/comfygate/workflow"
)

// objectInfo is GET /object_info of ComfyUI 0.3.64 with empty model folders
// and an empty input directory.
//
//go:embed object_info.json
var objectInfo []byte

// Models are the files a ComfyUI server would list in its combo inputs. A
// nil field takes its default (see DefaultModels); an empty non-nil field
// lists nothing. Names are relative to their folder, with "/" between
// subfolders, as ComfyUI shows them.
type Models struct {
	Checkpoints     []string // models/checkpoints
	Configs         []string // models/configs
	Loras           []string // models/loras
	VAE             []string // models/vae ("pixel_space" is always added)
	TextEncoders    []string // models/text_encoders and models/clip
	DiffusionModels []string // models/diffusion_models and models/unet
	ControlNets     []string // models/controlnet and models/t2i_adapter
	StyleModels     []string // models/style_models
	ClipVision      []string // models/clip_vision
	Gligen          []string // models/gligen
	Hypernetworks   []string // models/hypernetworks
	Photomaker      []string // models/photomaker
	ModelPatches    []string // models/model_patches
	AudioEncoders   []string // models/audio_encoders
	// Inputs are the top-level files of the input directory; each loader
	// lists those of its content type (LoadImage images, LoadAudio audio
	// and video, ...), LoadImageMask all of them.
	Inputs []string
	// InputDirs are the subfolders of the input directory, recursively,
	// "/"-separated (the training loaders list them).
	InputDirs []string
}

// DefaultModels is what a zero Models stands for: the usual Stable Diffusion
// 1.5 and SDXL files and ComfyUI's bundled example input image.
func DefaultModels() Models {
	return Models{
		Checkpoints:     []string{"v1-5-pruned-emaonly.safetensors", "sd_xl_base_1.0.safetensors"},
		Configs:         []string{},
		Loras:           []string{"lcm-lora-sdv1-5.safetensors"},
		VAE:             []string{"vae-ft-mse-840000-ema-pruned.safetensors", "sdxl_vae.safetensors"},
		TextEncoders:    []string{},
		DiffusionModels: []string{},
		ControlNets:     []string{},
		StyleModels:     []string{},
		ClipVision:      []string{},
		Gligen:          []string{},
		Hypernetworks:   []string{},
		Photomaker:      []string{},
		ModelPatches:    []string{},
		AudioEncoders:   []string{},
		Inputs:          []string{"example.png"},
		InputDirs:       []string{},
	}
}

func (m Models) withDefaults() Models {
	d := DefaultModels()
	pick := func(v, def []string) []string {
		if v == nil {
			return def
		}
		return v
	}
	return Models{
		Checkpoints: pick(m.Checkpoints, d.Checkpoints), Configs: pick(m.Configs, d.Configs),
		Loras: pick(m.Loras, d.Loras), VAE: pick(m.VAE, d.VAE),
		TextEncoders: pick(m.TextEncoders, d.TextEncoders), DiffusionModels: pick(m.DiffusionModels, d.DiffusionModels),
		ControlNets: pick(m.ControlNets, d.ControlNets), StyleModels: pick(m.StyleModels, d.StyleModels),
		ClipVision: pick(m.ClipVision, d.ClipVision), Gligen: pick(m.Gligen, d.Gligen),
		Hypernetworks: pick(m.Hypernetworks, d.Hypernetworks), Photomaker: pick(m.Photomaker, d.Photomaker),
		ModelPatches: pick(m.ModelPatches, d.ModelPatches), AudioEncoders: pick(m.AudioEncoders, d.AudioEncoders),
		Inputs: pick(m.Inputs, d.Inputs), InputDirs: pick(m.InputDirs, d.InputDirs),
	}
}

// ObjectInfo returns the GET /object_info body ComfyUI 0.3.64 would send
// with these files, formatted as ComfyUI formats it.
func ObjectInfo(models Models) []byte {
	root, err := comfyjson.Decode(objectInfo)
	if err != nil {
		panic(fmt.Sprintf("corenodes: embedded object_info: %v", err)) // tested; cannot happen
	}
	lists := models.withDefaults().lists()
	for _, s := range fileInputs {
		files := slices.Clone(lists[s.source])
		slices.Sort(files)
		if !prependValues(root, s, slices.Compact(files)) {
			panic("corenodes: no input " + s.class + "." + s.input) // tested; cannot happen
		}
	}
	return comfyjson.MustDumps(root)
}

// prependValues puts files before the values already listed for input s:
// the combo list that is the spec's type, or a V3 combo's "options".
func prependValues(root any, s fileInput, files []string) bool {
	spec := root
	for _, key := range []string{s.class, "input", "required", s.input} {
		o, _ := spec.(comfyjson.Object)
		spec, _ = o.Get(key)
	}
	parts, _ := spec.([]any)
	head := make([]any, 0, len(files))
	for _, f := range files {
		head = append(head, f)
	}
	if !s.v3 {
		if len(parts) < 1 {
			return false
		}
		values, ok := parts[0].([]any)
		parts[0] = append(head, values...)
		return ok
	}
	if len(parts) < 2 {
		return false
	}
	opts, _ := parts[1].(comfyjson.Object)
	values, ok := opts.Get("options")
	list, isList := values.([]any)
	opts.Set("options", append(head, list...))
	return ok && isList
}

// Catalog returns the core node catalog with these files.
func Catalog(models Models) (*workflow.Catalog, error) {
	c, err := workflow.ParseObjectInfo(ObjectInfo(models))
	if err != nil {
		return nil, fmt.Errorf("corenodes: %w", err)
	}
	return c, nil
}

func (m Models) lists() map[string][]string {
	return map[string][]string{
		"checkpoints": m.Checkpoints, "configs": m.Configs, "loras": m.Loras, "vae": m.VAE,
		"text_encoders": m.TextEncoders, "diffusion_models": m.DiffusionModels,
		"controlnet": m.ControlNets, "style_models": m.StyleModels, "clip_vision": m.ClipVision,
		"gligen": m.Gligen, "hypernetworks": m.Hypernetworks, "photomaker": m.Photomaker,
		"model_patches": m.ModelPatches, "audio_encoders": m.AudioEncoders,
		"input:all":         m.Inputs,
		"input:image":       filterInputs(m.Inputs, "image"),
		"input:audio+video": append(filterInputs(m.Inputs, "audio"), filterInputs(m.Inputs, "video")...),
		"input:video":       filterInputs(m.Inputs, "video"),
		"input:latent":      suffixInputs(m.Inputs, ".latent"),
		"input:dirs":        m.InputDirs,
	}
}

// contentTypes maps file extensions to MIME top-level types, as Python's
// mimetypes module does on Debian for the common media formats.
var contentTypes = map[string]string{
	"png": "image", "jpg": "image", "jpeg": "image", "jpe": "image", "gif": "image", "bmp": "image",
	"webp": "image", "tif": "image", "tiff": "image", "ico": "image", "svg": "image", "avif": "image",
	"heic": "image", "heif": "image",
	"mp4": "video", "m4v": "video", "webm": "video", "mov": "video", "qt": "video", "mkv": "video",
	"avi": "video", "mpeg": "video", "mpg": "video", "ogv": "video", "wmv": "video", "flv": "video",
	"3gp": "video",
	"wav": "audio", "mp3": "audio", "flac": "audio", "ogg": "audio", "oga": "audio", "opus": "audio",
	"m4a": "audio", "aac": "audio", "wma": "audio", "aif": "audio", "aiff": "audio", "weba": "audio",
}

func filterInputs(files []string, typ string) []string {
	out := []string{}
	for _, f := range files {
		ext := strings.ToLower(strings.TrimPrefix(path.Ext(f), "."))
		if contentTypes[ext] == typ {
			out = append(out, f)
		}
	}
	return out
}

func suffixInputs(files []string, suffix string) []string {
	out := []string{}
	for _, f := range files {
		if strings.HasSuffix(f, suffix) {
			out = append(out, f)
		}
	}
	return out
}

// fileInput is a combo whose values ComfyUI reads from disk: the class's
// required input, filled from source (prepended to any fixed entries, as
// ComfyUI does for "pixel_space" and "[None]").
type fileInput struct {
	class, input, source string
	v3                   bool // the values sit in the V3 "options" list
}

var fileInputs = []fileInput{
	{"CheckpointLoaderSimple", "ckpt_name", "checkpoints", false},
	{"VAELoader", "vae_name", "vae", false},
	{"LoadImage", "image", "input:image", false},
	{"LoadImageMask", "image", "input:all", false},
	{"LoraLoader", "lora_name", "loras", false},
	{"CLIPLoader", "clip_name", "text_encoders", false},
	{"UNETLoader", "unet_name", "diffusion_models", false},
	{"DualCLIPLoader", "clip_name1", "text_encoders", false},
	{"DualCLIPLoader", "clip_name2", "text_encoders", false},
	{"ControlNetLoader", "control_net_name", "controlnet", false},
	{"DiffControlNetLoader", "control_net_name", "controlnet", false},
	{"StyleModelLoader", "style_model_name", "style_models", false},
	{"CLIPVisionLoader", "clip_name", "clip_vision", false},
	{"unCLIPCheckpointLoader", "ckpt_name", "checkpoints", false},
	{"GLIGENLoader", "gligen_name", "gligen", false},
	{"CheckpointLoader", "config_name", "configs", false},
	{"CheckpointLoader", "ckpt_name", "checkpoints", false},
	{"LoadLatent", "latent", "input:latent", false},
	{"LoraLoaderModelOnly", "lora_name", "loras", false},
	{"HypernetworkLoader", "hypernetwork_name", "hypernetworks", false},
	{"ImageOnlyCheckpointLoader", "ckpt_name", "checkpoints", false},
	{"TrainLoraNode", "existing_lora", "loras", false},
	{"PhotoMakerLoader", "photomaker_model_name", "photomaker", true},
	{"LoadAudio", "audio", "input:audio+video", false},
	{"TripleCLIPLoader", "clip_name1", "text_encoders", true},
	{"TripleCLIPLoader", "clip_name2", "text_encoders", true},
	{"TripleCLIPLoader", "clip_name3", "text_encoders", true},
	{"CreateHookLora", "lora_name", "loras", false},
	{"CreateHookLoraModelOnly", "lora_name", "loras", false},
	{"CreateHookModelAsLora", "ckpt_name", "checkpoints", false},
	{"CreateHookModelAsLoraModelOnly", "ckpt_name", "checkpoints", false},
	{"LoadVideo", "file", "input:video", true},
	{"QuadrupleCLIPLoader", "clip_name1", "text_encoders", true},
	{"QuadrupleCLIPLoader", "clip_name2", "text_encoders", true},
	{"QuadrupleCLIPLoader", "clip_name3", "text_encoders", true},
	{"QuadrupleCLIPLoader", "clip_name4", "text_encoders", true},
	{"ModelPatchLoader", "name", "model_patches", false},
	{"AudioEncoderLoader", "audio_encoder_name", "audio_encoders", true},
	{"LoadImageSetFromFolderNode", "folder", "input:dirs", false},
	{"LoadImageTextSetFromFolderNode", "folder", "input:dirs", false},
}
