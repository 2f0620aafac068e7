package nodes

import (
	"fmt"

	"github.com/comfygate/comfygate/comfy/comfysim/internal/tensor"
)

// samplerArgs are the inputs KSampler and KSamplerAdvanced share.
type samplerArgs struct {
	model            *Model
	seed             string
	steps            int64
	cfg              float64
	sampler, sched   string
	positive, negate *Conditioning
	latent           *Latent
	extra            string // everything else that changes the result
}

func readSampler(c *Call, seedName string) (samplerArgs, error) {
	in := c.args()
	a := samplerArgs{model: typedArg[*Model](in, "model", "a MODEL")}
	if seed := arg(in, seedName, c.BigInt); seed != nil {
		a.seed = seed.String()
	}
	a.steps = in.Int("steps")
	a.cfg = in.Float("cfg")
	a.sampler = in.Str("sampler_name")
	a.sched = in.Str("scheduler")
	a.positive = typedArg[*Conditioning](in, "positive", "a CONDITIONING")
	a.negate = typedArg[*Conditioning](in, "negative", "a CONDITIONING")
	a.latent = typedArg[*Latent](in, "latent_image", "a LATENT")
	return a, in.err
}

func kSampler(c *Call) (Result, error) {
	a, err := readSampler(c, "seed")
	if err != nil {
		return Result{}, err
	}
	denoise, err := c.FloatOr("denoise", 1)
	if err != nil {
		return Result{}, err
	}
	a.extra = fmt.Sprint("denoise=", denoise)
	steps := int(a.steps)
	if denoise <= 0 {
		steps = 0
	}
	return sample(c, a, steps)
}

func kSamplerAdvanced(c *Call) (Result, error) {
	a, err := readSampler(c, "noise_seed")
	if err != nil {
		return Result{}, err
	}
	in := c.args()
	start := in.IntOr("start_at_step", 0)
	end := in.IntOr("end_at_step", 10000)
	noise := in.StrOr("add_noise", "enable")
	leftover := in.StrOr("return_with_leftover_noise", "disable")
	if in.err != nil {
		return Result{}, in.err
	}
	a.extra = fmt.Sprint(start, "/", end, "/", noise, "/", leftover)
	last := min(end, a.steps)
	if start >= last {
		// comfy.samplers returns the input latent untouched.
		return out(a.latent)
	}
	return sample(c, a, int(last-start))
}

// sample runs steps simulated sampler steps, each reported through the
// progress hook (with a preview when previews are on), and returns a latent
// whose signature depends on every input.
func sample(c *Call, a samplerArgs, steps int) (Result, error) {
	l := &Latent{N: a.latent.N, H: a.latent.H, W: a.latent.W, Sigs: make([]uint64, a.latent.N)}
	for i := range l.Sigs {
		l.Sigs[i] = tensor.Seed(u64(a.model.Sig), a.seed, fmt.Sprint(i, a.steps, a.cfg), a.sampler, a.sched,
			u64(a.positive.Sig), u64(a.negate.Sig), a.extra, u64(a.latent.Sigs[i]))
	}
	for step := 0; step < steps; step++ {
		if err := c.StepWait(); err != nil {
			return Result{}, err
		}
		var p *Preview
		if c.PreviewMethod() != "none" && l.N > 0 {
			p = samplerPreview(c, l, step, steps)
		}
		if err := c.Progress(step+1, steps, p); err != nil {
			return Result{}, err
		}
	}
	return out(l)
}

// samplerPreview draws the first latent of the batch partway to its final
// look: latent size for latent2rgb (and auto), image size for taesd.
func samplerPreview(c *Call, l *Latent, step, steps int) *Preview {
	h, w := max(l.H, 1), max(l.W, 1)
	if c.PreviewMethod() == "taesd" {
		h, w = h*8, w*8
	}
	final, err := tensor.Pattern(c.Limits(), h, w, []uint64{l.Sigs[0]})
	if err != nil {
		return nil
	}
	noise, _ := tensor.Pattern(c.Limits(), h, w, []uint64{l.Sigs[0] ^ uint64(step+1)})
	t := float32(step+1) / float32(steps)
	for i := range final.Pix {
		final.Pix[i] = final.Pix[i]*t + noise.Pix[i]*(1-t)
	}
	return &Preview{Format: "JPEG", Image: tensor.ToImage(final, 0), MaxSize: c.PreviewSize()}
}
