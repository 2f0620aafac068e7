package nodes

import (
	"fmt"
	"slices"
	"strconv"

	"github.com/comfygate/comfygate/comfy/comfysim/internal/tensor"
)

// The Stable Diffusion types carry no weights, only a signature: a hash of
// everything that would influence the picture, so that the final image
// changes exactly when a real one would.

// Model is MODEL.
type Model struct {
	Name string
	Sig  uint64
}

func (m *Model) String() string {
	return fmt.Sprintf("<comfy.model_patcher.ModelPatcher object at 0x%012x>", m.Sig&0xffffffffffff)
}

// Clip is CLIP.
type Clip struct {
	Name string
	Sig  uint64
}

func (c *Clip) String() string {
	return fmt.Sprintf("<comfy.sd.CLIP object at 0x%012x>", c.Sig&0xffffffffffff)
}

// VAE is VAE.
type VAE struct {
	Name string
	Sig  uint64
}

func (v *VAE) String() string {
	return fmt.Sprintf("<comfy.sd.VAE object at 0x%012x>", v.Sig&0xffffffffffff)
}

// Conditioning is CONDITIONING.
type Conditioning struct {
	Text string
	Sig  uint64
}

func (c *Conditioning) String() string {
	return "[[tensor(shape=[1, 77, 768], dtype=torch.float32), {'pooled_output': tensor(shape=[1, 768], dtype=torch.float32)}]]"
}

// Latent is LATENT: N latents of H×W (an eighth of the image size).
type Latent struct {
	N, H, W int
	Sigs    []uint64
}

func (l *Latent) String() string {
	return fmt.Sprintf("{'samples': tensor(shape=[%d, 4, %d, %d], dtype=torch.float32)}", l.N, l.H, l.W)
}

func u64(v uint64) string { return strconv.FormatUint(v, 16) }

func sdNodes() map[string]Def {
	return map[string]Def{
		"CheckpointLoaderSimple": stateless(checkpointLoader),
		"VAELoader":              stateless(vaeLoader),
		"LoraLoader":             stateless(loraLoader),
		"CLIPTextEncode":         stateless(clipTextEncode),
		"EmptyLatentImage":       stateless(emptyLatentImage),
		"KSampler":               stateless(kSampler),
		"KSamplerAdvanced":       stateless(kSamplerAdvanced),
		"VAEDecode":              stateless(vaeDecode),
		"VAEEncode":              stateless(vaeEncode),
	}
}

// requireModel is folder_paths.get_full_path_or_raise.
func requireModel(c *Call, folder, name string) error {
	if !slices.Contains(c.Models(folder), name) {
		return Raise("FileNotFoundError", "Model in folder '%s' with filename '%s' not found.", folder, name)
	}
	return nil
}

func checkpointLoader(c *Call) (Result, error) {
	name, err := c.Str("ckpt_name")
	if err != nil {
		return Result{}, err
	}
	if err := requireModel(c, "checkpoints", name); err != nil {
		return Result{}, err
	}
	return out(
		&Model{Name: name, Sig: tensor.Seed("model", name)},
		&Clip{Name: name, Sig: tensor.Seed("clip", name)},
		&VAE{Name: name, Sig: tensor.Seed("vae", name)},
	)
}

func vaeLoader(c *Call) (Result, error) {
	name, err := c.Str("vae_name")
	if err != nil {
		return Result{}, err
	}
	if err := requireModel(c, "vae", name); err != nil {
		return Result{}, err
	}
	return out(&VAE{Name: name, Sig: tensor.Seed("vae", name)})
}

func loraLoader(c *Call) (Result, error) {
	a := c.args()
	model := typedArg[*Model](a, "model", "a MODEL")
	clip := typedArg[*Clip](a, "clip", "a CLIP")
	name := a.Str("lora_name")
	sm := a.Float("strength_model")
	sc := a.Float("strength_clip")
	if a.err != nil {
		return Result{}, a.err
	}
	if sm == 0 && sc == 0 {
		return out(model, clip)
	}
	if err := requireModel(c, "loras", name); err != nil {
		return Result{}, err
	}
	m := &Model{Name: model.Name, Sig: tensor.Seed(u64(model.Sig), "lora", name, fmt.Sprint(sm))}
	cl := &Clip{Name: clip.Name, Sig: tensor.Seed(u64(clip.Sig), "lora", name, fmt.Sprint(sc))}
	return out(m, cl)
}

func clipTextEncode(c *Call) (Result, error) {
	text, err := c.Str("text")
	if err != nil {
		return Result{}, err
	}
	clip, ok := c.Inputs["clip"].(*Clip)
	if !ok {
		return Result{}, Raise("RuntimeError", "ERROR: clip input is invalid: None\n\nIf the clip is from a checkpoint loader node your checkpoint does not contain a valid clip or text encoder model.")
	}
	return out(&Conditioning{Text: text, Sig: tensor.Seed(u64(clip.Sig), text)})
}

func emptyLatentImage(c *Call) (Result, error) {
	a := c.args()
	w := a.Int("width")
	h := a.Int("height")
	n := a.IntOr("batch_size", 1)
	if a.err != nil {
		return Result{}, a.err
	}
	if err := c.Limits().Check(int(n), int(h/8*8), int(w/8*8)); err != nil {
		return Result{}, tooLarge(err)
	}
	l := &Latent{N: int(n), H: int(h / 8), W: int(w / 8), Sigs: make([]uint64, n)}
	for i := range l.Sigs {
		l.Sigs[i] = tensor.Seed("empty", strconv.Itoa(l.W), strconv.Itoa(l.H))
	}
	return out(l)
}

func vaeDecode(c *Call) (Result, error) {
	a := c.args()
	l := typedArg[*Latent](a, "samples", "a LATENT")
	vae := typedArg[*VAE](a, "vae", "a VAE")
	if a.err != nil {
		return Result{}, a.err
	}
	seeds := make([]uint64, l.N)
	for i, s := range l.Sigs {
		seeds[i] = tensor.Seed(u64(vae.Sig), u64(s))
	}
	img, err := tensor.Pattern(c.Limits(), max(l.H*8, 1), max(l.W*8, 1), seeds)
	if err != nil {
		return Result{}, tooLarge(err)
	}
	return out(img)
}

func vaeEncode(c *Call) (Result, error) {
	a := c.args()
	img := a.Image("pixels")
	vae := typedArg[*VAE](a, "vae", "a VAE")
	if a.err != nil {
		return Result{}, a.err
	}
	l := &Latent{N: img.N, H: img.H / 8, W: img.W / 8, Sigs: make([]uint64, img.N)}
	for i := range l.Sigs {
		l.Sigs[i] = tensor.Seed(u64(vae.Sig), contentKey(img.Image(i)))
	}
	return out(l)
}

// contentKey samples an image sparsely into a string for hashing.
func contentKey(b *tensor.Batch) string {
	step := max(len(b.Pix)/4096, 1)
	buf := make([]byte, 0, len(b.Pix)/step+16)
	for i := 0; i < len(b.Pix); i += step {
		buf = append(buf, byte(b.Pix[i]*255))
	}
	return fmt.Sprintf("%dx%d:%s", b.W, b.H, buf)
}
