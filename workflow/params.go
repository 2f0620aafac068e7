package workflow

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode"
)

// Param is one named, typed value a caller may set on a workflow: the
// gateway exposes a workflow as a function of its parameters.
type Param struct {
	Name   string `json:"name"`
	Target Target `json:"target"`
	// Type is "string", "integer", "number", "boolean" or "image" (an input
	// file name, e.g. of LoadImage).
	Type    string `json:"type"`
	Default any    `json:"default,omitempty"`
	// Minimum, Maximum and Step keep the catalog's numbers exactly.
	Minimum     json.Number `json:"minimum,omitempty"`
	Maximum     json.Number `json:"maximum,omitempty"`
	Step        json.Number `json:"step,omitempty"`
	Enum        []any       `json:"enum,omitempty"`
	Description string      `json:"description,omitempty"`
}

// Target is the node input a parameter sets.
type Target struct {
	NodeID string `json:"node_id"`
	Input  string `json:"input"`
}

func (t Target) String() string { return t.NodeID + ".inputs." + t.Input }

// Param types.
const (
	TypeString  = "string"
	TypeInteger = "integer"
	TypeNumber  = "number"
	TypeBoolean = "boolean"
	TypeImage   = "image"
)

// samplerInputs are the widgets of sampler nodes exposed as parameters,
// with the parameter name each one gets.
var samplerInputs = []struct{ input, name string }{
	{"seed", "seed"}, {"noise_seed", "seed"}, {"steps", "steps"}, {"cfg", "cfg"},
	{"sampler_name", "sampler_name"}, {"scheduler", "scheduler"}, {"denoise", "denoise"},
	{"add_noise", "add_noise"}, {"start_at_step", "start_at_step"}, {"end_at_step", "end_at_step"},
	{"return_with_leftover_noise", "return_with_leftover_noise"},
}

// loaderInputs name the file choices of common loader nodes.
var loaderInputs = map[string]map[string]string{
	"CheckpointLoaderSimple": {"ckpt_name": "checkpoint"},
	"CheckpointLoader":       {"ckpt_name": "checkpoint"},
	"LoraLoader":             {"lora_name": "lora", "strength_model": "lora_strength", "strength_clip": "lora_clip_strength"},
	"LoraLoaderModelOnly":    {"lora_name": "lora", "strength_model": "lora_strength"},
	"VAELoader":              {"vae_name": "vae"},
	"UNETLoader":             {"unet_name": "unet"},
}

// DetectParams finds the values a caller usually wants to change: the
// positive and negative prompt texts (found by following each sampler's
// positive/negative links back to the text encoders), the sampler settings,
// the latent size, the checkpoint and other loader choices, input images
// and primitive nodes. A node renamed in the editor (its _meta.title differs
// from the class's display name) names its parameters after the title, and
// any other node exposes its widget inputs when renamed or marked with a
// "$name" title (see markOf).
// Colliding names get "_2", "_3", ... in graph order. Types, bounds and
// enums come from the catalog; defaults are the graph's current values.
func DetectParams(g Graph, cat *Catalog) []Param {
	d := &detector{g: g, cat: cat, taken: map[string]bool{}, used: map[Target]bool{}}
	d.prompts()
	for _, id := range g.IDs() {
		d.node(id)
	}
	slices.SortStableFunc(d.out, func(a, b detected) int { return a.rank - b.rank })
	out := make([]Param, len(d.out))
	for i, p := range d.out {
		out[i] = p.Param
	}
	return out
}

// Parameter groups, in the order DetectParams lists them.
const (
	rankPrompt = iota
	rankSampler
	rankLatent
	rankLoader
	rankImage
	rankPrimitive
	rankWidget // inputs of marked or renamed nodes
)

type detected struct {
	Param
	rank int
}

type detector struct {
	g     Graph
	cat   *Catalog
	out   []detected
	taken map[string]bool
	used  map[Target]bool
}

func (d *detector) prompts() {
	for _, id := range d.g.IDs() {
		n := d.g[id]
		for _, side := range []struct{ input, name, what string }{
			{"positive", "prompt", "Text of the positive prompt"},
			{"negative", "negative_prompt", "Text of the negative prompt"},
		} {
			src, ok := d.textSource(n.Inputs[side.input], 0)
			if !ok {
				continue
			}
			name := side.name
			if t := d.customTitle(src.NodeID); t != "" {
				name = t
			}
			d.add(name, src, side.what, rankPrompt)
		}
	}
}

// textSource follows a conditioning link upstream to a node with a constant
// "text" (or "prompt") string input, through conditioning-only nodes.
func (d *detector) textSource(v any, depth int) (Target, bool) {
	id, _, ok := AsLink(v)
	if !ok || depth > 8 {
		return Target{}, false
	}
	n, ok := d.g[id]
	if !ok {
		return Target{}, false
	}
	for _, in := range []string{"text", "prompt"} {
		if _, isStr := n.Inputs[in].(string); isStr {
			return Target{id, in}, true
		}
	}
	for _, name := range n.InputNames() {
		if t, ok := d.textSource(n.Inputs[name], depth+1); ok && strings.Contains(name, "conditioning") {
			return t, true
		}
	}
	return Target{}, false
}

func (d *detector) node(id string) {
	n := d.g[id]
	if name, input, ok := markOf(n.Title()); ok {
		d.widgets(id, name, input)
		return
	}
	// Without the class's definition a rename cannot be told from the
	// default title: only marked nodes count then.
	cls, ok := d.cat.Class(n.ClassType)
	if !ok {
		return
	}
	prefix := d.customTitle(id)
	named := func(name string) string {
		if prefix != "" {
			return prefix + "_" + name
		}
		return name
	}
	switch {
	case loaderInputs[n.ClassType] != nil:
		for _, spec := range cls.Inputs {
			if name, ok := loaderInputs[n.ClassType][spec.Name]; ok {
				d.add(named(name), Target{id, spec.Name}, "", rankLoader)
			}
		}
	case hasInput(cls, "positive") && hasInput(cls, "negative"):
		for _, s := range samplerInputs {
			d.add(named(s.name), Target{id, s.input}, "", rankSampler)
		}
	case strings.HasPrefix(n.ClassType, "Empty") && strings.Contains(n.ClassType, "Latent"):
		for _, in := range []string{"width", "height", "batch_size"} {
			d.add(named(in), Target{id, in}, "", rankLatent)
		}
	case cls.Name == "LoadImage" || cls.Name == "LoadImageMask":
		d.add(orDefault(prefix, "image"), Target{id, "image"}, "", rankImage)
	case strings.HasPrefix(n.ClassType, "Primitive"):
		d.add(orDefault(prefix, strings.ToLower(strings.TrimPrefix(n.ClassType, "Primitive"))), Target{id, "value"}, "", rankPrimitive)
	case prefix != "":
		d.widgets(id, prefix, "")
	}
}

func hasInput(cls *NodeClass, name string) bool {
	_, ok := cls.Input(name)
	return ok
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// customTitle returns the slug of the node's _meta.title when the user
// renamed the node, else "".
func (d *detector) customTitle(id string) string {
	n := d.g[id]
	title := strings.TrimSpace(n.Title())
	if title == "" || title == n.ClassType {
		return ""
	}
	if cls, ok := d.cat.Class(n.ClassType); ok && title == cls.Title() {
		return ""
	}
	return Slug(title)
}

// add records a parameter for a constant input the node actually has.
func (d *detector) add(name string, t Target, desc string, rank int) {
	n := d.g[t.NodeID]
	val, ok := n.Inputs[t.Input]
	if !ok || d.used[t] || isLinkValue(val) {
		return
	}
	cls, _ := d.cat.Class(n.ClassType)
	var spec *InputSpec
	if cls != nil {
		spec, _ = cls.Input(t.Input)
	}
	p := paramFor(spec, n, t, val)
	if p.Type == "" {
		return
	}
	if desc != "" {
		p.Description = desc + " (node " + t.NodeID + ")."
	}
	p.Name = d.unique(name)
	d.used[t] = true
	d.out = append(d.out, detected{p, rank})
}

func (d *detector) unique(name string) string {
	out := name
	for i := 2; d.taken[out]; i++ {
		out = name + "_" + strconv.Itoa(i)
	}
	d.taken[out] = true
	return out
}

// paramFor types a parameter from the input's spec (or, without one, from
// the current value).
func paramFor(spec *InputSpec, n *Node, t Target, val any) Param {
	p := Param{Target: t, Default: val}
	typ := ""
	if spec != nil {
		typ = spec.Type
	}
	switch {
	case (n.ClassType == "LoadImage" || n.ClassType == "LoadImageMask") && t.Input == "image":
		p.Type = TypeImage
	case typ == "INT":
		p.Type = TypeInteger
	case typ == "FLOAT":
		p.Type = TypeNumber
	case typ == "BOOLEAN":
		p.Type = TypeBoolean
	case typ == "STRING":
		p.Type = TypeString
	case typ == "COMBO":
		p.Type, p.Enum = TypeString, slices.Clone(spec.Values)
	case spec == nil:
		p.Type = typeOfValue(val)
	}
	if spec != nil {
		p.Minimum, _ = spec.Number("min")
		p.Maximum, _ = spec.Number("max")
		p.Step, _ = spec.Number("step")
		p.Description = spec.Tooltip()
	}
	if p.Description == "" {
		p.Description = fmt.Sprintf("%s.%s of node %s.", n.ClassType, t.Input, t.NodeID)
	}
	return p
}

func typeOfValue(v any) string {
	switch kindOf(v) {
	case pyStrK:
		return TypeString
	case pyInt:
		return TypeInteger
	case pyFloat:
		return TypeNumber
	case pyBool:
		return TypeBoolean
	}
	return ""
}

// Slug turns a title into a parameter name: lower case, runs of other
// characters as "_", never starting with a digit.
func Slug(s string) string {
	var b strings.Builder
	under := false
	for _, r := range strings.ToLower(s) {
		if r < unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r)) {
			if under && b.Len() > 0 {
				b.WriteByte('_')
			}
			b.WriteRune(r)
			under = false
			continue
		}
		under = true
	}
	out := b.String()
	switch {
	case out == "":
		return "param"
	case out[0] >= '0' && out[0] <= '9':
		return "p_" + out
	}
	return out
}
